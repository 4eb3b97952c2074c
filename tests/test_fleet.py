"""Fleets: 20 tenant databases, one shared rehearsal server, one rehearsal per distinct (schema, pending set).

Twenty databases are made from the sample schema on the sandbox server. Eighteen are equal; one has an extra
column (a schema of its own: rehearsed separately, passes) and one a leftover table that a pending migration
creates (rehearsed separately, fails). The gate must rehearse three times, give all twenty a verdict, run one
embedded rehearsal server, and leave production unchanged. Then the canary recipe (fleet.yml: serial [1, 25%],
max_fail_percentage 0): a failing canary stops the batches after it, and a clean run migrates all twenty.
"""
from __future__ import annotations

import json
import os
import re
import tempfile

import pytest

from helpers import REPO, app_fingerprint, create_database, drop_database, playbook, snapshot

from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.sandbox import sandbox

TENANTS = 20
EXTRA_COLUMN, LEFTOVER_TABLE = 7, 13  # t07 differs by one column; t13 already has a table a migration creates
LEFTOVER = "CREATE TABLE callback_escalations (id BIGINT UNSIGNED NOT NULL PRIMARY KEY) ENGINE=InnoDB"

# Cheap rehearsals: few seeded rows; no expectations, verify or benchmark files (those checks are skipped).
CHEAP_GATE = {
    "gate_seed_default_rows": 20,
    "gate_seed_rows": {},
    "gate_rollback_rows_per_table": 2,
    "gate_benchmark_runs": 1,
    "gate_benchmark_warmup": 0,
    "deploy_backup": False,
}


def host(index):
    return f"t{index:02}"


@pytest.fixture
def tenants(admin):
    """{host: database}: twenty sample-schema databases, two of them different on purpose; dropped afterwards."""
    made = {}
    try:
        for index in range(1, TENANTS + 1):
            made[host(index)] = create_database(admin)
        with admin.cursor() as cur:
            cur.execute(f"ALTER TABLE `{made[host(EXTRA_COLUMN)]}`.companies ADD COLUMN fleet_note VARCHAR(40) NULL")
            cur.execute(f"USE `{made[host(LEFTOVER_TABLE)]}`")
            cur.execute(LEFTOVER)
            for database in made.values():  # a few rows, so the data probes and the deploy have something to read
                cur.execute(f"INSERT INTO `{database}`.companies (name, created_at, updated_at) VALUES ('Acme', NOW(), NOW())")
        yield made
    finally:
        for database in made.values():
            drop_database(admin, database)


def write_inventory(tmp_path, sandbox_cfg, databases, **host_vars):
    hosts = {
        name: {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "schemagate_database": database,
            "gate_report_root": str(tmp_path / "reports" / name),
            "schemagate_state_dir": str(tmp_path / "state" / name),
            **host_vars.get(name, {}),
        }
        for name, database in databases.items()
    }
    inventory = tmp_path / "fleet-inventory.json"
    inventory.write_text(json.dumps({"all": {
        "vars": {"schemagate_project_dir": REPO, "schemagate_config_file": sandbox_cfg.deploy_cnf},
        "children": {"databases": {"hosts": hosts}},
    }}))
    return str(inventory)


def run(tmp_path, inventory, *args, **extra):
    vars_file = tmp_path / f"vars-{len(list(tmp_path.glob('vars-*.json')))}.json"
    vars_file.write_text(json.dumps({**CHEAP_GATE, **extra}))
    result = playbook(*args, "-i", inventory, "--forks", "10", extra_vars_file=str(vars_file))
    assert "Traceback" not in result.stdout + result.stderr, result.stdout[-3000:]
    return result, " ".join(result.stdout.split())


def gate_reports(tmp_path):
    reports = {}
    for path in sorted((tmp_path / "reports").glob("*/*/gate.json")):
        name = path.parent.parent.name
        assert name not in reports, f"{name} has two gate reports"
        reports[name] = json.loads(path.read_text())
    return reports


def task_output(output, name):
    """What the play printed for the task(s) whose name starts with ``name``."""
    blocks = re.findall(r"TASK \[[^\]]*?" + re.escape(name) + r"[^\]]*\] \**\n(.*?)(?=\n(?:TASK|PLAY|RUNNING HANDLER) \[|\Z)",
                        output, re.S)
    assert blocks, f"no task {name!r} in the output"
    return "\n".join(blocks)


def task_hosts(output, name):
    """The hosts that ran (ok, changed or failed: not skipped) the task(s) whose name starts with ``name``."""
    return set(re.findall(r"^(?:ok|changed|failed|fatal): \[([^\]\s]+)", task_output(output, name), re.M))


def server_dirs(output):
    return set(re.findall(re.escape(os.path.join(tempfile.gettempdir(), sandbox.REHEARSAL_PREFIX)) + r"[A-Za-z0-9_]+", output))


def test_twenty_databases_three_rehearsals_one_server(admin, server, sandbox_cfg, tenants, tmp_path):
    before = {name: snapshot(admin, server, db) for name, db in tenants.items()}
    inventory = write_inventory(tmp_path, sandbox_cfg, tenants)
    result, flat = run(tmp_path, inventory, "playbooks/gate.yml")
    assert result.returncode != 0, flat[-3000:]  # t13 fails its gate

    reports = gate_reports(tmp_path)
    assert sorted(reports) == sorted(tenants)  # every host got a verdict
    assert len({r["run"]["run_id"] for r in reports.values()}) == TENANTS  # one run id (reports/<run-id>/) each
    rehearsed = {name for name, r in reports.items() if not r["run"]["fleet"]["reused"]}
    groups = {r["run"]["fleet"]["group"] for r in reports.values()}
    assert rehearsed == {"t01", host(EXTRA_COLUMN), host(LEFTOVER_TABLE)}
    assert len(groups) == len(rehearsed) == 3  # exactly one rehearsal per distinct (fingerprint, pending set)
    migrated = task_hosts(result.stdout, "Apply the pending migrations to the rehearsal copy")
    assert migrated == rehearsed, "a host that reuses a verdict ran migrations of its own"
    assert task_hosts(result.stdout, "Lint the pending migrations against production") == set(tenants)  # per host
    assert len(re.findall(r"\(item=slot \d+ on controller for ", task_output(result.stdout, "Start the batch's embedded"))) == 1

    verdicts = {name: r["passed"] for name, r in reports.items()}
    assert [name for name, passed in verdicts.items() if not passed] == [host(LEFTOVER_TABLE)]
    for name, report in reports.items():
        checks = {c["code"]: c for c in report["checks"]}
        assert "PF102" in checks and any(c["group"] == "lint" for c in report["checks"]), name  # its own reads
        if name in rehearsed:
            continue
        assert checks["RH106"]["message"] == "verdict reused from t01: same fingerprint and pending set", name
        assert report["run"]["fleet"]["representative"] == "t01"
        summary = (tmp_path / "reports" / name / report["run"]["run_id"] / "summary.md").read_text()
        assert "verdict reused from t01" in summary
        assert report["run"]["database"] == tenants[name]
    assert "rehearsed once for 18 hosts" in {c["code"]: c for c in reports["t01"]["checks"]}["RH106"]["message"]
    assert flat.count("verdict reused from t01: same fingerprint and pending set") >= 17

    # One embedded server for the batch (slot 0: the names differ), shared by the three rehearsals, and gone.
    paths = {r["run"]["rehearsal_server_path"] for name, r in reports.items() if name in rehearsed}
    assert len(paths) == 1 and server_dirs(result.stdout) == paths
    assert all(r["run"]["fleet"]["slot"] == 0 for r in reports.values())
    assert not os.path.exists(next(iter(paths)))

    for name, database in tenants.items():
        assert snapshot(admin, server, database) == before[name], name  # production unchanged
    print(f"\nfleet gate: {len(reports)} hosts, {len(rehearsed)} rehearsals, 1 rehearsal server; "
          f"verdicts: {sum(verdicts.values())} passed, {len(verdicts) - sum(verdicts.values())} failed")


@pytest.fixture
def second_server():
    """Another MariaDB (a second production server) to hold a database with the same name as one on the sandbox."""
    import subprocess

    watched = subprocess.Popen(["sleep", "900"])
    started = sandbox.start_rehearsal(watched.pid)
    yield started
    sandbox.stop_rehearsal(started["path"])
    watched.kill()
    watched.wait()


def test_under_serial_each_batch_has_its_server_and_its_rehearsal(admin, sandbox_cfg, tenants, tmp_path):
    """schemagate_gate_serial: 2 over four equal databases: two batches, one server and one rehearsal each."""
    four = {h: tenants[h] for h in ("t01", "t02", "t03", "t04")}
    inventory = write_inventory(tmp_path, sandbox_cfg, four)
    result, flat = run(tmp_path, inventory, "playbooks/gate.yml", schemagate_gate_serial=2)
    assert result.returncode == 0, flat[-3000:]
    reports = gate_reports(tmp_path)
    assert {h: r["run"]["fleet"]["representative"] for h, r in reports.items()} == {
        "t01": "t01", "t02": "t01", "t03": "t03", "t04": "t03"}
    paths = {r["run"]["rehearsal_server_path"] for r in reports.values()}
    assert len(paths) == 2 and server_dirs(result.stdout) == paths
    assert len(re.findall(r"PLAY \[Pre-deploy gate\]", result.stdout)) == 2


def make_twin(admin, second_server, name):
    """``name`` on the second server: the sandbox's base tables, plus one column (another schema)."""
    other = connect(ConnectionParams(unix_socket=second_server["socket"], config_file=second_server["config_file"]))
    try:
        with other.cursor() as cur, admin.cursor() as source:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cur.execute(f"USE `{name}`")
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")
            source.execute(f"USE `{name}`")
            source.execute("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'")
            for (table, _kind) in source.fetchall():
                source.execute(f"SHOW CREATE TABLE `{table}`")
                cur.execute(source.fetchone()[1])
            cur.execute("ALTER TABLE companies ADD COLUMN fleet_note VARCHAR(40) NULL")
    finally:
        other.close()
    return {"schemagate_config_file": second_server["config_file"], "schemagate_login_unix_socket": second_server["socket"]}


def test_two_databases_of_one_name_rehearse_on_two_slots(admin, server, sandbox_cfg, second_server, tenants, tmp_path):
    """Same name on two production servers, different schemas: slot 0 and slot 1, one embedded server each."""
    name = tenants["t01"]
    twin = make_twin(admin, second_server, name)
    inventory = write_inventory(tmp_path, sandbox_cfg, {"t01": name, "t02": tenants["t02"], "twin": name}, twin=twin)
    result, flat = run(tmp_path, inventory, "playbooks/gate.yml")
    assert result.returncode == 0, flat[-3000:]
    reports = gate_reports(tmp_path)
    fleet = {h: r["run"]["fleet"] for h, r in reports.items()}
    assert fleet["t02"]["reused"] and fleet["t02"]["representative"] == "t01"
    assert (fleet["t01"]["slot"], fleet["twin"]["slot"]) == (0, 1) and not fleet["twin"]["reused"]
    paths = {reports[h]["run"]["rehearsal_server_path"] for h in ("t01", "twin")}
    assert len(paths) == 2 and server_dirs(result.stdout) == paths  # one server per slot in use
    assert all(reports[h]["passed"] for h in reports) and not any(os.path.exists(p) for p in paths)


@pytest.fixture
def staging():
    import subprocess

    watched = subprocess.Popen(["sleep", "900"])
    started = sandbox.start_rehearsal(watched.pid)
    yield started
    sandbox.stop_rehearsal(started["path"])
    watched.kill()
    watched.wait()


def test_one_name_twice_on_one_staging_server_is_refused_in_one_line(
        admin, server, sandbox_cfg, second_server, staging, tenants, tmp_path):
    name = tenants["t01"]
    on_staging = {"schemagate_rehearsal_mode": "server", "schemagate_rehearsal_login_unix_socket": staging["socket"],
                  "schemagate_rehearsal_config_file": staging["config_file"]}
    twin = make_twin(admin, second_server, name)
    inventory = write_inventory(tmp_path, sandbox_cfg, {"t01": name, "t02": tenants["t02"], "twin": name},
                                t01=on_staging, t02=on_staging, twin={**twin, **on_staging})
    result, flat = run(tmp_path, inventory, "playbooks/gate.yml")
    assert result.returncode != 0
    reports = gate_reports(tmp_path)
    assert sorted(reports) == ["t01", "t02", "twin"], flat[-4000:]
    assert reports["t01"]["passed"] and reports["t02"]["passed"] and not reports["twin"]["passed"]
    assert reports["t02"]["run"]["fleet"]["representative"] == "t01"
    assert f"twin and t01 would both rehearse `{name}` on the same staging server" in flat
    assert task_hosts(result.stdout, "Apply the pending migrations to the rehearsal copy") == {"t01"}
    conn = connect(ConnectionParams(unix_socket=staging["socket"], config_file=staging["config_file"]))
    try:  # the staging server keeps nothing of the run
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()


# The canary recipe: fleet.yml deploys one database first, then batches of 25%, and stops at the first failure.

def pending_count(admin, database):
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'migrations'",
                    (database,))
        if not cur.fetchone()[0]:
            return len(load_migrations(os.path.join(REPO, "migrations")))
        cur.execute(f"SELECT COUNT(*) FROM `{database}`.migrations")
        return len(load_migrations(os.path.join(REPO, "migrations"))) - cur.fetchone()[0]


@pytest.mark.slow
def test_canary_then_batches(admin, server, sandbox_cfg, tenants, tmp_path):
    with admin.cursor() as cur:  # twenty that pass their gate: the leftover table goes
        cur.execute(f"DROP TABLE `{tenants[host(LEFTOVER_TABLE)]}`.callback_escalations")
    fingerprints = {name: app_fingerprint(admin, server, db) for name, db in tenants.items()}

    # 1. The canary (the first host) fails after migrating (its health check answers nothing): it is rolled back,
    #    and no other database is touched.
    inventory = write_inventory(tmp_path, sandbox_cfg, tenants,
                                t01={"smoke_test_health_url": "http://127.0.0.1:9/health", "smoke_test_health_timeout": 2})
    result, flat = run(tmp_path, inventory, "fleet.yml")
    assert result.returncode != 0, flat[-3000:]
    assert "GATE PASSED" in flat
    assert task_hosts(result.stdout, "Apply the pending migrations to the rehearsal copy") == {"t01", host(EXTRA_COLUMN)}
    health = task_output(result.stdout, "Ask the application whether it is healthy")
    assert task_hosts(result.stdout, "Ask the application whether it is healthy") == {"t01"} and "Connection refused" in health
    for name, database in tenants.items():
        assert app_fingerprint(admin, server, database) == fingerprints[name], name
        assert pending_count(admin, database) == 6, name
    assert not re.search(r"t02\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=[1-9]", result.stdout)
    batches = re.findall(r"PLAY \[Migrate production behind a verified backup\]", result.stdout)
    assert len(batches) == 1, "a batch ran after the failed canary"

    # 2. A clean run: canary, then batches of five, all twenty migrated.
    inventory = write_inventory(tmp_path, sandbox_cfg, tenants)
    result, flat = run(tmp_path, inventory, "fleet.yml")
    assert result.returncode == 0, flat[-3000:]
    assert len(re.findall(r"PLAY \[Migrate production behind a verified backup\]", result.stdout)) == 5  # 1 + 4 x 5
    for name, database in tenants.items():
        assert pending_count(admin, database) == 0, name
        assert app_fingerprint(admin, server, database) != fingerprints[name], name
