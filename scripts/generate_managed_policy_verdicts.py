"""Regenerate layers/remediator/remediator/data/aws_managed_policies.json from AWS managed policy documents.

admin_grants must judge an attached AWS managed policy without an AWS call, so its verdict ships as data.
The documents come from moto (`moto.iam.aws_managed_policies`, refreshed by moto's maintainers from AWS);
each is analysed with remediator.policy. Risky ones keep their verdict; the others are listed by name as
benign, so a policy missing from the file (newer than the data) is read live, never taken for benign.

Usage: .venv/bin/python scripts/generate_managed_policy_verdicts.py [--check]
  --check: exit 1 if the shipped file differs from what the installed moto gives (no write).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "layers/remediator/remediator/data/aws_managed_policies.json"


def source_documents() -> tuple[str, dict[str, dict[str, Any]]]:
    """(source label, {"<path><name>" without the leading slash: document}); ImportError without moto."""
    from importlib.metadata import version

    from moto.iam.aws_managed_policies import aws_managed_policies_data

    policies = json.loads(aws_managed_policies_data)
    documents = {f"{entry['Path']}{name}".lstrip("/"): entry["Document"] for name, entry in policies.items()}
    return f"moto {version('moto')} moto/iam/aws_managed_policies.py", documents


def verdicts(source: str, documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Admin-equivalent names, escalation paths per escalation-granting name, and the benign names."""
    from remediator.policy import analyse_identity_policy

    admin, escalation, benign = [], {}, []
    for key in sorted(documents):
        verdict = analyse_identity_policy(documents[key])
        if verdict.admin_equivalent:
            admin.append(key)
        elif verdict.escalation_paths:
            escalation[key] = list(verdict.escalation_paths)
        else:
            benign.append(key)
    return {
        "source": source,
        "generated_by": "scripts/generate_managed_policy_verdicts.py",
        "analysed": len(documents),
        "admin_equivalent": admin,
        "escalation": escalation,
        "benign": benign,
    }


def render(data: dict[str, Any]) -> str:
    """One policy per line: small diffs when AWS adds or changes a policy."""
    lines = ["{"]
    for field in ("source", "generated_by", "analysed"):
        lines.append(f"  {json.dumps(field)}: {json.dumps(data[field])},")
    lines.append(f'  "admin_equivalent": {json.dumps(data["admin_equivalent"])},')
    lines.append('  "escalation": {')
    entries = [f"    {json.dumps(key)}: {json.dumps(paths)}" for key, paths in data["escalation"].items()]
    lines.append(",\n".join(entries))
    lines.append("  },")
    lines.append('  "benign": [')
    lines.append(",\n".join(f"    {json.dumps(key)}" for key in data["benign"]))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "remediator"))
    text = render(verdicts(*source_documents()))
    if "--check" in sys.argv[1:]:
        current = DATA.read_text() if DATA.is_file() else ""
        if current != text:
            print(f"{DATA} is stale: run scripts/generate_managed_policy_verdicts.py")
            return 1
        return 0
    DATA.write_text(text)
    data = json.loads(text)
    print(
        f"{DATA.name}: {data['analysed']} analysed, {len(data['admin_equivalent'])} admin-equivalent, "
        f"{len(data['escalation'])} escalation-granting, {len(text)} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
