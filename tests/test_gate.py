"""The gate, run by ansible-playbook: the Phase B set passes; broken sets are blocked, production untouched."""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import tempfile

import pytest

from helpers import FAST_GATE, MIGRATIONS_DIR, REPO, create_production, drop_database, edit, playbook, snapshot

from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.core.session import database_exists
from plugins.module_utils.sandbox.sandbox import stop_rehearsal


def rehearsal_dirs():
    return sorted(glob.glob(os.path.join(tempfile.gettempdir(), "sg-rehearsal-*")))


def leftover_scratch(admin, database):
    with admin.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (database.replace("_", "\\_") + "\\_sg\\_%",))
        return [row[0] for row in cur.fetchall()]


def run_gate(tmp_path, database, migrations_dir, **extra):
    vars_file = tmp_path / "gate.json"
    vars_file.write_text(json.dumps({
        "schemagate_database": database,
        "schemagate_migrations_dir": migrations_dir,
        "gate_report_root": str(tmp_path / "reports"),
        **FAST_GATE,
        **extra,
    }))
    result = playbook("playbooks/gate.yml", extra_vars_file=str(vars_file))
    flat = " ".join(result.stdout.split())
    reports = sorted((tmp_path / "reports").glob("*/gate.json"))
    report = json.loads(reports[-1].read_text()) if reports else None
    return result, flat, report


def failed_checks(report):
    return {f"{c['group']} / {c['name']}": c for c in report["checks"] if c["blocking"]}


def test_the_phase_b_set_passes_and_production_is_untouched(admin, server, production, tmp_path):
    before = snapshot(admin, server, production)
    result, flat, report = run_gate(tmp_path, production, MIGRATIONS_DIR)
    assert result.returncode == 0, flat[-3000:]
    assert "GATE PASSED" in flat
    assert report["passed"] and not failed_checks(report)
    groups = {c["group"] for c in report["checks"]}
    assert groups == {"preflight", "lint", "rehearsal", "seed", "migrate", "verify", "integrity", "benchmark", "rollback"}
    assert all(c["code"] for c in report["checks"])
    assert snapshot(admin, server, production) == before
    assert leftover_scratch(admin, production) == []
    checks = {c["code"]: c for c in report["checks"]}
    assert checks["RH102"]["figures"]["mode"] == "embedded" and "RH105" not in checks
    assert report["run"]["rehearsal_mode"] == "embedded"
    assert rehearsal_dirs() == []  # the embedded rehearsal server is gone
    run_dir = os.path.dirname(sorted((tmp_path / "reports").glob("*/gate.json"))[-1])
    for name in ("gate.json", "junit.xml", "summary.md"):
        assert oct(os.stat(os.path.join(run_dir, name)).st_mode & 0o777) == "0o600"
    junit = open(os.path.join(run_dir, "junit.xml"), encoding="utf-8").read()
    assert junit.count("<testcase ") == len(report["checks"]) and "<failure" not in junit


BROKEN = {
    "missing critical index": (
        ("2025_10_01_060304_create_appointment_modifications_table", "up",
         "  KEY idx_customer_mods_rolling (company_id, customer_id, modification_type, created_at),\n", ""),
        ["verify / structure appointment_modifications", "benchmark / customer_modifications_30d"],
        "index idx_customer_mods_rolling: missing",
    ),
    "wrong ON DELETE rule": (
        ("2025_10_01_060203_create_callback_requests_table", "up",
         "REFERENCES customers (id) ON DELETE SET NULL", "REFERENCES customers (id) ON DELETE CASCADE"),
        ["verify / structure callback_requests"],
        "foreign key callback_requests_customer_id_foreign: on_delete is 'CASCADE', expected 'SET NULL'",
    ),
    "nullable company_id": (
        ("2025_10_01_060100_create_notification_configurations_table", "up",
         "company_id BIGINT UNSIGNED NOT NULL", "company_id BIGINT UNSIGNED NULL"),
        ["verify / structure notification_configurations"],
        "column company_id: nullable is True, expected False",
    ),
    "down that leaves its table": (
        ("2025_10_01_060400_create_appointment_modification_stats_table", "down",
         "DROP TABLE IF EXISTS appointment_modification_stats;", "SELECT 1;"),
        ["rollback / step-by-step rollback"],
        "after undoing 2025_10_01_060400_create_appointment_modification_stats_table: table appointment_modification_stats: unexpected",
    ),
    "down that drops the wrong table": (
        ("2025_10_01_060400_create_appointment_modification_stats_table", "down",
         "DROP TABLE IF EXISTS appointment_modification_stats;", "DROP TABLE IF EXISTS callback_escalations;"),
        ["rollback / step-by-step rollback"],
        "table callback_escalations: missing",
    ),
    "up that fails midway": (
        ("2025_10_01_060203_create_callback_requests_table", "up",
         ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;",
         ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\nCREATE INDEX idx_broken ON callback_requests (no_such_column);"),
        ["migrate / 2025_10_01_060203_create_callback_requests_table"],
        "Migration 2025_10_01_060203_create_callback_requests_table (up) failed at statement 2 of 2",
    ),
}


@pytest.fixture(scope="module")
def broken_sets_gated(admin, server, sandbox_cfg, tmp_path_factory):
    """Every broken set through ONE gate run: one inventory host per set, one production database each.

    This is also how users gate many databases: Ansible runs the hosts side by side.
    """
    work = tmp_path_factory.mktemp("broken-sets")
    cases, hosts = {}, {}
    for index, case in enumerate(sorted(BROKEN)):
        (name, direction, old, new), _failures, _text = BROKEN[case]
        database = create_production(admin)
        migrations = str(work / f"migrations-{index}")
        shutil.copytree(MIGRATIONS_DIR, migrations)
        edit(migrations, name, direction, old, new)
        host = f"broken{index}"
        hosts[host] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "schemagate_database": database,
            "schemagate_migrations_dir": migrations,
            "gate_report_root": str(work / host),
        }
        cases[case] = {"host": host, "database": database, "before": snapshot(admin, server, database), "reports": work / host}
    # One more host gates the good set with gate_keep_scratch: its clones stay while its neighbours' are dropped.
    kept = {"host": "kept", "database": create_production(admin)}
    hosts["kept"] = dict(hosts[host], schemagate_database=kept["database"], schemagate_migrations_dir=MIGRATIONS_DIR,
                         gate_report_root=str(work / "kept"), gate_keep_scratch=True)
    inventory = work / "inventory.yml"
    inventory.write_text(json.dumps({"all": {
        "vars": {"schemagate_project_dir": REPO, "schemagate_config_file": sandbox_cfg.deploy_cnf},
        "children": {"databases": {"hosts": hosts}},
    }}))
    vars_file = work / "fast.json"
    vars_file.write_text(json.dumps(FAST_GATE))
    result = playbook("playbooks/gate.yml", "-i", str(inventory), "--forks", str(len(hosts)), extra_vars_file=str(vars_file))
    flat = " ".join(result.stdout.split())
    yield result, flat, cases, kept
    # The kept host's server outlives the run on purpose: stopped here too, whichever of this module's tests ran.
    for socket in re.findall(r"The rehearsal server is kept \(gate_keep_scratch\): (\S+/mysqld\.sock)", flat):
        stop_rehearsal(os.path.dirname(socket))
    for mine in [*cases.values(), kept]:
        for name in leftover_scratch(admin, mine["database"]):
            drop_database(admin, name)
        drop_database(admin, mine["database"])


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_migration_set_is_blocked_before_production_is_touched(admin, server, broken_sets_gated, case):
    result, flat, cases, _kept = broken_sets_gated
    mine = cases[case]
    _change, expected_failures, expected_text = BROKEN[case]
    assert result.returncode != 0, flat[-2000:]
    recap = re.search(rf"{mine['host']}\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=(\d+)", result.stdout)
    assert recap and int(recap.group(1)) == 1, flat[-2000:]
    assert f"Gate failed for {mine['database']}:" in flat
    [report_file] = mine["reports"].glob("*/gate.json")
    report = json.loads(report_file.read_text())
    assert report["run"]["database"] == mine["database"] and not report["passed"]
    failed = failed_checks(report)
    for check in expected_failures:
        assert check in failed, f"{check} not among {sorted(failed)}"
    assert expected_text in json.dumps(report), expected_text
    assert snapshot(admin, server, mine["database"]) == mine["before"]
    assert leftover_scratch(admin, mine["database"]) == []


def test_keep_scratch_leaves_the_rehearsal_server_for_debugging_and_only_ours(broken_sets_gated, admin):
    result, flat, cases, kept = broken_sets_gated
    recap = re.search(r"kept\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=(\d+)", result.stdout)
    assert recap and int(recap.group(1)) == 0, flat[-2000:]
    assert "GATE PASSED" in flat
    # The neighbours' servers are gone, failed gates included; the kept one still holds the copy.
    [socket] = re.findall(r"The rehearsal server is kept \(gate_keep_scratch\): (\S+/mysqld\.sock)", flat)
    path = os.path.dirname(socket)
    assert rehearsal_dirs() == [path]
    conn = connect(ConnectionParams(unix_socket=socket, config_file=os.path.join(path, "admin.cnf")))
    try:
        assert database_exists(conn, kept["database"])  # named as production names it
    finally:
        conn.close()
        stop_rehearsal(path)
    assert rehearsal_dirs() == []
    assert all(leftover_scratch(admin, mine["database"]) == [] for mine in [*cases.values(), kept])


def test_skipping_the_gate_needs_a_variable_and_is_loud(production, tmp_path):
    result, flat, report = run_gate(tmp_path, production, MIGRATIONS_DIR, schemagate_skip_gate=True)
    assert result.returncode == 0
    assert "WARNING: the pre-deploy gate was SKIPPED" in flat
    assert report is None
