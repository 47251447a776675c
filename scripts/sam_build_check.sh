#!/usr/bin/env bash
# `sam build` without a container, then the size of our own code in the artifacts: every function
# directory plus the layer's `remediator` package (third-party dependencies excluded). Fails when
# the build fails or our code reaches MAX_OWN_CODE_BYTES (default 768 KiB: fourteen rules, organization mode and
# the sweep; a function imports only its own rules' modules, so its cold start does not grow with the catalog).
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_OWN_CODE_BYTES="${MAX_OWN_CODE_BYTES:-786432}"
BUILD_DIR="${BUILD_DIR:-.aws-sam/build}"

# SAM's python3.13 workflow needs a python3.13 first on PATH; the project venv provides one.
export PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
start=$(date +%s.%N)
sam build --template-file template.yaml --build-dir "$BUILD_DIR"
end=$(date +%s.%N)

bytes() { find "$@" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
own=0
for fn in "$BUILD_DIR"/*Function; do
  size=$(bytes "$fn"); own=$((own + size))
  printf '%-40s %8d bytes\n' "${fn##*/}" "$size"
done
layer_pkg=$(bytes "$BUILD_DIR"/RemediatorLayer/python/remediator)
own=$((own + layer_pkg))
printf '%-40s %8d bytes\n' "RemediatorLayer/python/remediator" "$layer_pkg"
printf '%-40s %8d bytes (third-party included)\n' "RemediatorLayer (whole)" "$(bytes "$BUILD_DIR"/RemediatorLayer)"
printf 'our code: %d bytes (limit %d); sam build took %.1f s\n' "$own" "$MAX_OWN_CODE_BYTES" "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')"
[ "$own" -lt "$MAX_OWN_CODE_BYTES" ] || { echo "our code is too large" >&2; exit 1; }
# Lambda's /opt is read-only: without bytecode in the layer every cold start compiles it from source.
[ -n "$(find "$BUILD_DIR"/RemediatorLayer/python/remediator -name '*.pyc' -print -quit)" ] \
  || { echo "the layer ships no bytecode" >&2; exit 1; }
# The layer ships the managed policy verdicts gzipped and no operator tools: it must still read the verdicts.
PYTHONPATH="$BUILD_DIR/RemediatorLayer/python" .venv/bin/python -c "
import remediator.managed_policies as verdicts, sys
assert verdicts.__file__.startswith(sys.argv[1]), verdicts.__file__
assert verdicts.managed_policy_verdicts()['admin_equivalent'], 'no verdicts'
" "$(cd "$BUILD_DIR" && pwd)" || { echo "the built layer cannot read its managed policy verdicts" >&2; exit 1; }
