"""gate.sarif: SARIF 2.1.0 with file and line, checked against the schema's required properties (no server)."""
from __future__ import annotations

import json
import os

import jsonschema

from plugins.module_utils.core.checks import CheckResult
from plugins.module_utils.gate.report import write_report

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sarif-2.1.0-required.json")


def results(root):
    path = os.path.join(root, "migrations", "2025_12_01_000001_change.up.sql")
    located = {"file": path, "line": 7, "migration": "2025_12_01_000001_change", "statement_index": 2}
    return [
        CheckResult("DS102", "customers.last_name (m line 7)", False, "drops column", figures=dict(located), subject="customers.last_name"),
        CheckResult("MF102", "customers.email (m line 7)", False, "narrows", figures=dict(located, allowed="checked"),
                    subject="customers.email", waived="allowed in migrations/x.up.sql line 6: checked"),
        CheckResult("MY101", "customers (m line 7)", False, "not safe to re-run", figures=dict(located), subject="customers"),
        CheckResult("PF106", "no long open transaction", False, "a transaction is open"),
        CheckResult("LN101", "m", True, "1 statement linted"),
    ]


def test_the_sarif_report_has_every_failure_with_its_rule_location_and_suppression(tmp_path):
    root = str(tmp_path)
    paths = write_report(str(tmp_path / "reports" / "1"), {"run_id": "1", "database": "db", "source_root": root}, results(root))
    with open(paths["sarif"], encoding="utf-8") as handle:
        document = json.load(handle)
    with open(SCHEMA, encoding="utf-8") as handle:
        jsonschema.Draft7Validator(json.load(handle), format_checker=jsonschema.FormatChecker()).validate(document)
    assert oct(os.stat(paths["sarif"]).st_mode & 0o777) == "0o600"
    run = document["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == ["DS102", "MF102", "MY101", "PF106"]  # failures only: the passed LN101 is no result
    by_rule = {r["ruleId"]: r for r in run["results"]}
    location = by_rule["DS102"]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "migrations/2025_12_01_000001_change.up.sql", "uriBaseId": "SRCROOT"}
    assert location["region"] == {"startLine": 7}
    assert by_rule["DS102"]["level"] == "error" and by_rule["MY101"]["level"] == "warning"
    assert by_rule["MF102"]["suppressions"][0]["kind"] == "inSource" and by_rule["MF102"]["level"] == "note"
    assert "locations" not in by_rule["PF106"] and rules[by_rule["PF106"]["ruleIndex"]] == "PF106"
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == f"file://{root}/"
    summary = open(paths["summary"], encoding="utf-8").read()
    assert "| DS102 | migrations/2025_12_01_000001_change.up.sql:7 | FAIL | drops column |" in summary
    assert "| MF102 | migrations/2025_12_01_000001_change.up.sql:7 | allowed |" in summary
    junit = open(paths["junit"], encoding="utf-8").read()
    assert 'file="migrations/2025_12_01_000001_change.up.sql" line="7"' in junit


def test_a_document_missing_required_properties_is_rejected_by_the_schema():
    with open(SCHEMA, encoding="utf-8") as handle:
        validator = jsonschema.Draft7Validator(json.load(handle))
    assert list(validator.iter_errors({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}))
    bad_level = {"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "A", "level": "fatal"}]}
    assert list(validator.iter_errors({"version": "2.1.0", "runs": [bad_level]}))
