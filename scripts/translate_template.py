#!/usr/bin/env python3
"""Translate template.yaml (SAM) into plain CloudFormation offline, as `sam deploy` would.

No AWS call: managed policies resolve through a stub loader and local code paths become
placeholder `s3://` URIs. checkov, the IAM tests and the moto deploy check read its output, so
they see the resources SAM generates (rules, permissions, layer versions, invoke configs).

    scripts/translate_template.py [--template template.yaml] [--output FILE] [--checkov-suppressions FILE]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_BUCKET = "compliance-remediator-placeholder-artifacts"
# Local paths SAM packages and uploads; the property that holds each, per resource type.
CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


class StubPolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which would call IAM to list AWS managed policies."""

    def load(self) -> dict[str, str]:
        return {}


def load_sam(path: Path) -> dict[str, Any]:
    """Parse SAM YAML with its short-form intrinsics (!Ref, !Sub, ...) as samcli does."""
    from samcli.yamlhelper import yaml_parse

    return yaml_parse(path.read_text())


def code_key(local_path: str) -> str:
    return local_path.strip("/").replace("/", "-") + ".zip"


def with_placeholder_code(template: dict[str, Any]) -> dict[str, Any]:
    """Replace local CodeUri/ContentUri paths with the s3:// URIs `sam package` would have written."""
    template = copy.deepcopy(template)
    for resource in template.get("Resources", {}).values():
        prop = CODE_PROPERTIES.get(resource.get("Type"))
        value = resource.get("Properties", {}).get(prop) if prop else None
        if isinstance(value, str) and not value.startswith("s3://"):
            resource["Properties"][prop] = f"s3://{PLACEHOLDER_BUCKET}/{code_key(value)}"
    return template


def translate(template_path: Path = ROOT / "template.yaml", parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM would deploy (parameters only matter for conditions SAM resolves)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = with_placeholder_code(load_sam(template_path))
    translator = Translator(
        managed_policy_map=None, sam_parser=Parser(), boto_session=boto3.session.Session(region_name="us-east-1")
    )
    return translator.translate(
        sam,
        parameter_values=dict(parameters or {}),
        passthrough_metadata=True,
        get_managed_policy_map=StubPolicyLoader().load,
    )


def add_checkov_suppressions(template: dict[str, Any], suppressions_path: Path) -> dict[str, Any]:
    """Write the checked-in suppressions for SAM-generated resources into their Metadata, where checkov reads them.

    The file maps a logical id (or `Type:<resource type>` for every resource of a type) to
    `[{id: CKV_..., comment: why}]`; a suppression without a reason is refused.
    """
    import yaml

    template = copy.deepcopy(template)
    entries = yaml.safe_load(suppressions_path.read_text()) or {}
    resources = template.get("Resources", {})
    for target, skips in entries.items():
        for skip in skips:
            if not str(skip.get("comment", "")).strip():
                raise SystemExit(f"{suppressions_path}: suppression {skip.get('id')} for {target} has no comment")
        if target.startswith("Type:"):
            names = [name for name, res in resources.items() if res.get("Type") == target.removeprefix("Type:")]
        else:
            names = [target] if target in resources else []
        if not names:
            raise SystemExit(f"{suppressions_path}: {target} matches no resource of the translated template")
        for name in names:
            checkov = resources[name].setdefault("Metadata", {}).setdefault("checkov", {})
            existing = {item["id"] for item in checkov.setdefault("skip", [])}
            checkov["skip"].extend(skip for skip in skips if skip["id"] not in existing)
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--output", type=Path, help="write here instead of stdout")
    parser.add_argument(
        "--checkov-suppressions",
        type=Path,
        help="YAML file of checkov skips (with reasons) for SAM-generated resources",
    )
    args = parser.parse_args(argv)
    template = translate(args.template)
    if args.checkov_suppressions:
        template = add_checkov_suppressions(template, args.checkov_suppressions)
    text = json.dumps(template, indent=2, sort_keys=False)
    if args.output:
        args.output.write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
