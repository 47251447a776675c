#!/usr/bin/env bash
# checkov on every template: template.yaml (as written), its offline-translated CloudFormation template
# (which holds the roles, rules and permissions SAM generates), regional-forwarder.yaml and member.yaml. checkov lives in its own venv,
# .checkov-venv, pinned by requirements-checkov.txt. Exit status: non-zero on any failed check.
set -euo pipefail
cd "$(dirname "$0")/.."

# Any Python 3.13 builds the venv: the project venv's, else pyenv's 3.13.0.
PYTHON313="${PYTHON313:-}"
for candidate in .venv/bin/python "$(pyenv root 2>/dev/null)/versions/3.13.0/bin/python" python3.13; do
  [ -n "$PYTHON313" ] && break
  "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && PYTHON313="$candidate"
done
VENV=.checkov-venv
STAMP="$VENV/.requirements-checkov.txt"
if [ ! -x "$VENV/bin/checkov" ] || ! cmp -s requirements-checkov.txt "$STAMP"; then
  "$PYTHON313" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements-checkov.txt 2> >(grep -v "is ignored: it is neither" >&2)
  cp requirements-checkov.txt "$STAMP"
fi

translated="$(mktemp -d)/template.translated.json"
trap 'rm -rf "$(dirname "$translated")"' EXIT
.venv/bin/python scripts/translate_template.py --output "$translated" \
  --checkov-suppressions checkov-sam-suppressions.yaml

status=0
for target in template.yaml "$translated" regional-forwarder.yaml member.yaml; do
  echo "== checkov: ${target##*/}"
  "$VENV/bin/checkov" --skip-download --framework cloudformation --compact --quiet \
    --file "$target" || status=1
done
exit $status
