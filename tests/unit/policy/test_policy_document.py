"""Parsing policy documents in every shape CloudTrail and IaC tools hand them to us."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from remediator.policy import PolicyParseError, as_list, load_policy_document

STATEMENT = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
DOCUMENT = {"Version": "2012-10-17", "Statement": [STATEMENT]}
PRETTY = json.dumps(DOCUMENT, indent="\t")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(DOCUMENT, id="dict"),
        pytest.param(json.dumps(DOCUMENT), id="compact string"),
        pytest.param(PRETTY, id="pretty-printed with newlines and tabs"),
        pytest.param(PRETTY.replace("\n", "\\n").replace("\t", "\\t"), id="escaped newlines and tabs"),
        pytest.param(quote(json.dumps(DOCUMENT)), id="url-encoded as in responseElements"),
        pytest.param(json.dumps(json.dumps(DOCUMENT)), id="JSON inside a JSON string"),
        pytest.param(json.dumps(DOCUMENT).encode(), id="bytes"),
        pytest.param({"Version": "2012-10-17", "Statement": STATEMENT}, id="single statement object"),
        pytest.param({"version": "2012-10-17", "statement": STATEMENT}, id="lower-case keys"),
        pytest.param("  " + json.dumps(DOCUMENT) + "\n", id="surrounding whitespace"),
    ],
)
def test_accepted_forms_give_a_statement_list(raw) -> None:
    document = load_policy_document(raw)
    assert document["Statement"] == [STATEMENT]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("not json", "not JSON"),
        ("%7Bbroken", "not JSON"),
        ("[1, 2]", "JSON object"),
        ("42", "JSON object"),
        ('"just a string"', "JSON object"),
        ({"Version": "2012-10-17"}, "no Statement"),
        ({"Statement": None}, "object or a list"),
        ({"Statement": "Allow everything"}, "object or a list"),
        ({"Statement": [STATEMENT, "oops"]}, "statement 1 is not an object"),
        ({"Statement": [[STATEMENT]]}, "statement 0 is not an object"),
        (["Statement"], "JSON string or an object"),
        (None, "JSON string or an object"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_rejected_forms_raise_policy_parse_error(raw, message: str) -> None:
    with pytest.raises(PolicyParseError, match=message):
        load_policy_document(raw)


def test_policy_parse_error_is_a_value_error() -> None:
    assert issubclass(PolicyParseError, ValueError)


def test_empty_statement_list_is_a_document_that_grants_nothing() -> None:
    assert load_policy_document({"Statement": []})["Statement"] == []


def test_input_is_not_mutated_and_result_is_independent() -> None:
    original = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["a:b"], "Resource": "*"}}
    snapshot = json.loads(json.dumps(original))
    document = load_policy_document(original)
    document["Statement"][0]["Action"].append("c:d")
    assert original == snapshot


def test_other_top_level_keys_are_kept() -> None:
    document = load_policy_document({"Version": "2012-10-17", "Id": "x", "Statement": []})
    assert document == {"Version": "2012-10-17", "Id": "x", "Statement": []}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("s3:GetObject", ["s3:GetObject"]), (None, []), (["a", "b"], ["a", "b"]), (("a",), ["a"]), ({}, [{}])],
)
def test_as_list(value, expected) -> None:
    assert as_list(value) == expected
