"""The gate's lint, data probes and online-DDL prediction, run by ansible-playbook on a sabotaged set.

One gate run over the Phase B set plus a migration of pre-existing tables that a DBA would stop:
production already holds duplicate emails (the new UNIQUE key fails on them), one ALTER copies the
populated appointments table (above a lowered size threshold), one is INSTANT, one narrowing is
allowed by annotation. The gate blocks naming each, production is untouched, and every report
(gate.json, junit.xml, summary.md, gate.sarif) carries the codes with file and line.
"""
from __future__ import annotations

import json
import os
import shutil
from xml.etree import ElementTree

from helpers import FAST_GATE, MIGRATIONS_DIR, playbook, snapshot

SABOTAGE = "2025_11_20_090000_tune_customers_and_appointments"
SABOTAGE_UP = """-- A release that changes two pre-existing tables.
ALTER TABLE appointments ADD COLUMN source VARCHAR(20) NULL;

-- schemagate:allow MF102 statuses are short words; checked in OPS-7
ALTER TABLE appointments MODIFY status VARCHAR(40) NOT NULL DEFAULT 'pending';

ALTER TABLE appointments MODIFY starts_at DATETIME NULL;

ALTER TABLE customers ADD UNIQUE KEY customers_email_unique (email);
"""
SABOTAGE_DOWN = """ALTER TABLE customers DROP INDEX customers_email_unique;
ALTER TABLE appointments MODIFY starts_at TIMESTAMP NULL;
ALTER TABLE appointments MODIFY status VARCHAR(255) NOT NULL DEFAULT 'pending';
ALTER TABLE appointments DROP COLUMN source;
"""


def run_gate(tmp_path, database, migrations_dir, **extra):
    vars_file = tmp_path / "gate.json"
    vars_file.write_text(json.dumps({"schemagate_database": database, "schemagate_migrations_dir": migrations_dir,
                                     "gate_report_root": str(tmp_path / "reports"), **FAST_GATE, **extra}))
    result = playbook("playbooks/gate.yml", extra_vars_file=str(vars_file))
    reports = sorted((tmp_path / "reports").glob("*/gate.json"))
    return result, " ".join(result.stdout.split()), json.loads(reports[-1].read_text()) if reports else None


def leftover_scratch(admin, database):
    with admin.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s",
                    (database.replace("_", "\\_") + "\\_sg\\_%",))
        return [row[0] for row in cur.fetchall()]


def test_the_gate_blocks_a_sabotaged_set_by_code_with_file_and_line(admin, server, production, tmp_path):
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations)
    (migrations / f"{SABOTAGE}.up.sql").write_text(SABOTAGE_UP)
    (migrations / f"{SABOTAGE}.down.sql").write_text(SABOTAGE_DOWN)
    with admin.cursor() as cur:  # production already breaks the new unique key
        cur.execute(f"UPDATE `{production}`.customers SET email = 'twin@example.test' WHERE id IN (7, 8)")
    before = snapshot(admin, server, production)

    result, flat, report = run_gate(tmp_path, production, str(migrations), gate_online_threshold_rows=100)

    assert result.returncode != 0 and "GATE FAILED" in flat, flat[-3000:]
    by_code = {}
    for check in report["checks"]:
        by_code.setdefault(check["code"], []).append(check)
    up_file = str(migrations / f"{SABOTAGE}.up.sql")

    duplicates = by_code["DP101"][0]
    assert duplicates["blocking"] and duplicates["figures"]["line"] == 9 and duplicates["figures"]["file"] == up_file
    assert "1 duplicate key value(s) on production (2 rows)" in duplicates["message"]
    assert "email='twin@example.test'" in duplicates["message"]

    allowed = by_code["MF102"][0]
    assert allowed["verdict"] == "waived" and allowed["figures"]["allowed"] == "statuses are short words; checked in OPS-7"
    assert not allowed["blocking"] and allowed["figures"]["line"] == 5

    algorithms = {c["figures"]["line"]: c for c in by_code["OD101"]}
    assert algorithms[2]["figures"]["kind"] == "instant" and not algorithms[2]["figures"]["writes_blocked"]
    assert algorithms[7]["figures"]["kind"] == "copy" and algorithms[7]["figures"]["writes_blocked"]
    measured = {c["figures"]["line"]: c["figures"] for c in by_code["OD103"]}
    assert measured[7]["copy_rows"] > 0 and measured[7]["predicted_seconds"] is not None
    assert measured[7]["affected_rows"] == measured[7]["copy_rows"]  # the engine reported every row copied
    assert "linear in data+index bytes" in measured[7]["model"]
    policy = {c["figures"]["line"]: c for c in by_code["PL101"]}
    assert policy[7]["blocking"] and not policy[2]["blocking"]
    failed = {c["code"] for c in report["checks"] if c["blocking"]}
    # The rehearsal fails too, on the seeder's own duplicate emails: production's are what DP101 proves.
    assert failed - {"MG101"} == {"DP101", "PL101"}, failed
    assert {c["figures"]["line"] for c in by_code["PL101"] if c["blocking"]} == {5, 7}  # both copy appointments

    assert snapshot(admin, server, production) == before
    assert leftover_scratch(admin, production) == []

    run_dir = os.path.dirname(sorted((tmp_path / "reports").glob("*/gate.json"))[-1])
    summary = open(os.path.join(run_dir, "summary.md"), encoding="utf-8").read()
    assert "## Migration findings" in summary and f"| DP101 | {up_file}:9 | FAIL |" in summary
    assert f"| MF102 | {up_file}:5 | allowed |" in summary
    suites = ElementTree.parse(os.path.join(run_dir, "junit.xml")).getroot()
    cases = {case.get("name").split(" ")[0] + ":" + str(case.get("line")): case for case in suites.iter("testcase")}
    assert cases["DP101:9"].find("failure") is not None and cases["DP101:9"].get("file") == up_file
    with open(os.path.join(run_dir, "gate.sarif"), encoding="utf-8") as handle:
        sarif = json.load(handle)
    results = sarif["runs"][0]["results"]
    located = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results if "locations" in r}
    assert {("DP101", 9), ("PL101", 7), ("MF102", 5)} <= located
    suppressed = [r for r in results if r["ruleId"] == "MF102"][0]
    assert suppressed["suppressions"][0]["kind"] == "inSource"
