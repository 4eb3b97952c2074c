"""Any application, not only the worked example: three schemas of our own (tests/fixtures/generic/).

With only the migrations directory set, the gate passes their correct sets and blocks broken ones by name;
playbooks/expectations.yml records what a set produces and a later gate fails on drift from it; deploy.yml
then rollback.yml round-trips; and a deploy that stops before any migration (its backup fails) says
production is unchanged and restores nothing. Each step is ONE ansible-playbook run over many hosts
(one production database each), as tests/test_gate.py gates its broken sets.
"""
from __future__ import annotations

import json
import os
import re
import shutil

import pytest
import yaml

from helpers import REPO, app_fingerprint, create_database, drop_database, edit, playbook, snapshot

from plugins.module_utils.core.connection import connect
from plugins.module_utils.core.expectations import load_expectations
from plugins.module_utils.core.sql_script import split_statements
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.runner import MigrationRunner, RunnerSettings

# Each test is one ansible-playbook run over many hosts: the slow tier (./run test --all).
pytestmark = pytest.mark.slow

FIXTURES = os.path.join(REPO, "tests", "fixtures", "generic")
APPS = ("library", "crm", "telemetry")
# What each app's history table is (telemetry's files are golang-migrate's: schema_migrations).
HISTORY = {"library": "migrations", "crm": "migrations", "telemetry": "schema_migrations"}
SMALL = {"gate_seed_default_rows": 120, "gate_rollback_rows_per_table": 3}

# host -> (app, (migration, direction, old, new) or None, the blocking checks expected, a text of the report)
BROKEN = {
    "library_no_pk": (
        "library", ("2025_03_01_100100_create_loans", "up", "AUTO_INCREMENT PRIMARY KEY", "AUTO_INCREMENT,\n  KEY loans_id_idx (id)"),
        ["verify / every table has a primary key"], "loans: no PRIMARY KEY",
    ),
    "crm_down_leaves_table": (
        "crm", ("2025_04_01_090200_create_activities", "down", "DROP TABLE IF EXISTS activities;", "SELECT 1;"),
        ["rollback / step-by-step rollback"], "table activities: unexpected",
    ),
    "telemetry_odd_collation": (
        "telemetry", ("20250501120100_create_tags", "up", "COLLATE=utf8mb4_bin;\n\nCREATE TABLE sensor_tags",
                      "COLLATE=utf8mb4_unicode_ci;\n\nCREATE TABLE sensor_tags"),
        ["verify / one collation for all tables"], "tags: utf8mb4_unicode_ci",
    ),
}


def create_app_database(admin, app):
    """A production database holding the app's base tables, views and rows (nothing migrated)."""
    name = create_database(admin, with_base_tables=False)
    with open(os.path.join(FIXTURES, app, "base.sql"), encoding="utf-8") as handle:
        statements = split_statements(handle.read())
    with admin.cursor() as cur:
        cur.execute(f"USE `{name}`")
        for statement in statements:
            cur.execute(statement.sql)
    return name


def migrations_of(app):
    return os.path.join(FIXTURES, app, "migrations")


def host_vars(database, work, host, **extra):
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "schemagate_database": database,
        "gate_report_root": str(work / host / "reports"),
        "schemagate_state_dir": str(work / host / "state"),
        "schemagate_backup_dir": str(work / host / "backups"),
        **SMALL,
        **extra,
    }


def run(work, name, play, hosts, sandbox_cfg):
    inventory = work / f"{name}.json"
    inventory.write_text(json.dumps({"all": {
        "vars": {"schemagate_project_dir": REPO, "schemagate_config_file": sandbox_cfg.deploy_cnf},
        "children": {"databases": {"hosts": hosts}},
    }}))
    result = playbook(play, "-i", str(inventory), "--forks", str(min(len(hosts), 5)))
    return result, " ".join(result.stdout.split())


def failed_count(stdout, host):
    match = re.search(rf"{host}\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=(\d+)", stdout)
    assert match, stdout[-3000:]
    return int(match.group(1))


def gate_report(work, host):
    [path] = (work / host / "reports").glob("*/gate.json")
    return json.loads(path.read_text())


def blocking(report):
    return {f"{c['group']} / {c['name']}": c for c in report["checks"] if c["blocking"]}


@pytest.fixture(scope="module")
def gated(admin, server, sandbox_cfg, tmp_path_factory):
    """expectations.yml on two apps, then ONE gate.yml over every correct, broken, expected and drifted set."""
    work = tmp_path_factory.mktemp("generic-gate")
    databases = {app: create_app_database(admin, app) for app in APPS}
    alter_only = create_app_database(admin, "telemetry")
    before = {app: snapshot(admin, server, db) for app, db in databases.items()}

    expected_dir = work / "expectations"
    exp_hosts = {
        "crm_expectations": host_vars(databases["crm"], work, "crm_expectations", schemagate_migrations_dir=migrations_of("crm"),
                                      schemagate_tenant_column="org_id",
                                      schemagate_expectations_file=str(expected_dir / "crm.yaml")),
        "library_expectations": host_vars(databases["library"], work, "library_expectations",
                                          schemagate_migrations_dir=migrations_of("library"),
                                          schemagate_expectations_file=str(expected_dir / "library.yaml")),
    }
    expectations_run = run(work, "expectations", "playbooks/expectations.yml", exp_hosts, sandbox_cfg)

    hosts = {f"{app}_ok": host_vars(databases[app], work, f"{app}_ok", schemagate_migrations_dir=migrations_of(app)) for app in APPS}
    only_alter = work / "alter-only"
    only_alter.mkdir()
    for name in os.listdir(migrations_of("telemetry")):
        if name.startswith("20250501120200_"):
            shutil.copy(os.path.join(migrations_of("telemetry"), name), only_alter / name)
    hosts["alter_only"] = host_vars(alter_only, work, "alter_only", schemagate_migrations_dir=str(only_alter))
    for host, (app, change, _checks, _text) in BROKEN.items():
        copy = work / f"migrations-{host}"
        shutil.copytree(migrations_of(app), copy)
        edit(str(copy), *change)
        hosts[host] = host_vars(databases[app], work, host, schemagate_migrations_dir=str(copy))
    # The generated expectations: the set they were made from passes, a drifted one fails.
    hosts["crm_expected"] = host_vars(databases["crm"], work, "crm_expected", schemagate_migrations_dir=migrations_of("crm"),
                                      schemagate_tenant_column="org_id", schemagate_expectations_file=str(expected_dir / "crm.yaml"))
    drifted = work / "migrations-drifted"
    shutil.copytree(migrations_of("crm"), drifted)
    edit(str(drifted), "2025_04_01_090000_create_deals", "up", "amount DECIMAL(12,2)", "amount DECIMAL(14,2)")
    hosts["crm_drifted"] = host_vars(databases["crm"], work, "crm_drifted", schemagate_migrations_dir=str(drifted),
                                     schemagate_tenant_column="org_id", schemagate_expectations_file=str(expected_dir / "crm.yaml"))
    gate_run = run(work, "gate", "playbooks/gate.yml", hosts, sandbox_cfg)
    yield {"work": work, "expectations": expectations_run, "gate": gate_run, "databases": databases, "before": before,
           "expected_dir": expected_dir}
    for name in [*databases.values(), alter_only]:
        drop_database(admin, name)


def test_expectations_are_generated_for_review(gated):
    result, flat = gated["expectations"]
    assert result.returncode == 0, flat[-3000:]
    assert "EXPECTATIONS" in flat and "3 tables recorded (activities, contacts, deals)" in flat
    crm = gated["expected_dir"] / "crm.yaml"
    rules = yaml.safe_load(crm.read_text())
    assert rules["structure"] == f"{gated['databases']['crm']}_schema.yaml"
    assert rules["tenant"] == {"org_id": "orgs ON DELETE CASCADE"}
    assert rules["tables"]["deals"]["enums"] == {"stage": ["lead", "qualified", "won", "lost"]}
    assert rules["tables"]["deals"]["soft_delete"] == "deleted_at"
    assert rules["tables"]["deals"]["json"] == ["details"]
    loaded = load_expectations(str(crm))  # the gate reads what was written
    assert sorted(loaded.structure) == ["activities", "contacts", "deals"]
    library = yaml.safe_load((gated["expected_dir"] / "library.yaml").read_text())
    assert "tenant" not in library and sorted(library["tables"]) == ["copies", "loans", "titles"]
    assert library["tables"]["copies"]["unique"] == {"copies_barcode_unique": ["barcode"]}


@pytest.mark.parametrize("host", [f"{app}_ok" for app in APPS] + ["alter_only", "crm_expected"])
def test_a_correct_set_passes_with_only_its_migrations_directory(gated, admin, server, host):
    work = gated["work"]
    result, flat = gated["gate"]
    assert failed_count(result.stdout, host) == 0, flat[-3000:]
    report = gate_report(work, host)
    assert report["passed"], sorted(blocking(report))
    verdicts = {c["code"]: c["verdict"] for c in report["checks"]}
    if host != "crm_expected":
        # Nothing of the worked example: what needs a file that was not given is skipped and says so.
        assert verdicts["SV114"] == verdicts["SV116"] == verdicts["BM102"] == "skipped"
        assert not [c for c in report["checks"] if c["code"] in ("SV101", "SV102", "BM101")]
    else:
        assert {c["code"] for c in report["checks"]} >= {"SV101", "SV102", "SV104", "SV106", "SV115"}
        assert all(c["passed"] for c in report["checks"] if c["code"] in ("SV101", "SV102", "SV115"))
    names = {c["name"]: c for c in report["checks"]}
    assert not any("schemagate_" in c["message"] or "migrations:" in c["message"] for c in report["checks"] if c["code"] == "SV113")
    if host == "telemetry_ok":
        # raw_log has no primary key, but production already had it: information, not a block.
        old = names["every table has a primary key (pre-existing tables)"]
        assert not old["passed"] and old["severity"] == "info" and not old["blocking"] and "raw_log" in old["message"]
    if host == "alter_only":
        assert all(c["passed"] for c in report["checks"] if c["code"] in ("RB109", "RB110"))
    if host == "library_ok":
        seed = [c for c in report["checks"] if c["group"] == "seed"]
        assert seed and all(c["passed"] for c in seed)
        orphans = [c for c in report["checks"] if c["code"] == "IN102"]
        assert orphans and all(c["passed"] for c in orphans)  # overlapping composite keys: one parent row each


@pytest.mark.parametrize("host", sorted(BROKEN))
def test_a_broken_set_is_blocked_by_name(gated, admin, server, host):
    app, _change, expected, text = BROKEN[host]
    result, flat = gated["gate"]
    assert failed_count(result.stdout, host) == 1, flat[-3000:]
    report = gate_report(gated["work"], host)
    assert not report["passed"]
    for check in expected:
        assert check in blocking(report), f"{check} not among {sorted(blocking(report))}"
    assert text in json.dumps(report)
    assert snapshot(admin, server, gated["databases"][app]) == gated["before"][app]


def test_drift_from_the_generated_expectations_is_blocked(gated):
    result, flat = gated["gate"]
    assert failed_count(result.stdout, "crm_drifted") == 1, flat[-3000:]
    failed = blocking(gate_report(gated["work"], "crm_drifted"))
    assert "verify / structure deals" in failed
    assert "decimal(14,2)" in json.dumps(failed["verify / structure deals"])


def test_deploy_then_rollback_round_trips_and_an_early_failure_restores_nothing(admin, server, sandbox_cfg, tmp_path):
    work = tmp_path
    databases = {app: create_app_database(admin, app) for app in APPS}
    # A database a first deploy already reached: its first migration is applied; the next deploy's backup fails.
    early = create_app_database(admin, "crm")
    first = work / "first"
    first.mkdir()
    for name in os.listdir(migrations_of("crm")):
        if name.startswith("2025_04_01_090000_"):
            shutil.copy(os.path.join(migrations_of("crm"), name), first / name)
    conn = connect(sandbox_cfg.admin_params(), early)
    try:
        MigrationRunner(conn, RunnerSettings(database=early), load_migrations(str(first))).migrate()
    finally:
        conn.close()
    (work / "not-a-directory").write_text("a file where the backup directory should be\n")
    try:
        before = {app: app_fingerprint(admin, server, db, HISTORY[app]) for app, db in databases.items()}
        rows_before = {app: snapshot(admin, server, db)[1] for app, db in databases.items()}
        early_before = app_fingerprint(admin, server, early), snapshot(admin, server, early)[1]
        hosts = {app: host_vars(db, work, app, schemagate_migrations_dir=migrations_of(app))
                 for app, db in databases.items()}
        hosts["early_failure"] = host_vars(
            early, work, "early_failure", schemagate_migrations_dir=migrations_of("crm"), schemagate_skip_gate=True,
            schemagate_backup_dir=str(work / "not-a-directory" / "backups"),
        )
        result, flat = run(work, "deploy", "deploy.yml", hosts, sandbox_cfg)
        for app in APPS:
            assert failed_count(result.stdout, app) == 0, flat[-4000:]
            [report_file] = (work / app / "state").glob(f"{databases[app]}-*.json")
            assert json.loads(report_file.read_text())["outcome"] == "deployed"
            assert app_fingerprint(admin, server, databases[app], HISTORY[app]) != before[app]
        # The deploy stopped before any migration: production unchanged, nothing restored, said so.
        assert failed_count(result.stdout, "early_failure") == 1
        assert f"Deploy of {early} aborted before any migration was applied; production is unchanged" in flat
        [early_report] = (work / "early_failure" / "state").glob(f"{early}-*.json")
        assert json.loads(early_report.read_text())["outcome"] == "aborted before any migration; production verified unchanged"
        # The same schema and rows (the deploy lock's own table aside, which the deploy creates).
        assert app_fingerprint(admin, server, early) == early_before[0]
        rows_now = snapshot(admin, server, early)[1]
        assert {t: rows_now[t] for t in early_before[1]} == early_before[1]
        assert "remain" not in json.dumps(json.loads(early_report.read_text()))
        with admin.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (early.replace("_", "\\_") + "\\_sg\\_old%",))
            assert cur.fetchone()[0] == 0  # no restore swapped anything in

        del hosts["early_failure"]
        result, flat = run(work, "rollback", "playbooks/rollback.yml", hosts, sandbox_cfg)
        for app in APPS:
            assert failed_count(result.stdout, app) == 0, flat[-4000:]
            assert app_fingerprint(admin, server, databases[app], HISTORY[app]) == before[app]
            rows_after = snapshot(admin, server, databases[app])[1]
            assert {t: s for t, s in rows_after.items() if t in rows_before[app] and t != HISTORY[app]} == \
                {t: s for t, s in rows_before[app].items() if t != HISTORY[app]}
    finally:
        for name in [*databases.values(), early]:
            drop_database(admin, name)


@pytest.mark.parametrize("setting, said", [
    ("gate_report_only=true", "deploy.yml refuses gate_report_only=true"),
    ("gate_fail_on_failure=false", "deploy.yml refuses gate_fail_on_failure"),
])
def test_deploy_refuses_a_gate_that_only_reports(setting, said, tmp_path):
    # Refused in the first play, before the gate or anything touches a server (the database need not exist).
    result = playbook("deploy.yml", "-e", setting, "-e", "schemagate_database=no_such_database_sg_x")
    flat = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert said in flat and "a deploy needs a gate that can block" in flat
    assert "TASK [Read production's version" not in flat and "Pre-deploy gate" not in flat
