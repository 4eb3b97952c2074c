"""Where the rehearsal happens: production's server only ever sees reads from the gate.

Production (the sandbox) runs with the binary log on, as a primary with replicas does; every figure
that a replica would replay is measured there. Hostile migrations reach only the rehearsal copy.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from helpers import (
    FAST_GATE,
    MIGRATIONS_DIR,
    REPO,
    binlog_bytes,
    create_production,
    database_names,
    deploy,
    drop_database,
    playbook,
    snapshot,
    wait_for,
)

from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.core.session import database_exists
from plugins.module_utils.sandbox import sandbox


def rehearsal_dirs():
    return sorted(glob.glob(os.path.join(tempfile.gettempdir(), sandbox.REHEARSAL_PREFIX + "*")))


def test_a_whole_deploy_writes_to_productions_binlog_no_more_than_a_plain_migrate(admin, server, production, runner_for, tmp_path):
    plain = create_production(admin)  # the same base tables and rows: a plain migrate of the same set, for comparison
    try:
        start = binlog_bytes(admin)
        runner_for(plain).migrate()
        plain_bytes = binlog_bytes(admin) - start
    finally:
        drop_database(admin, plain)
    databases, servers = database_names(admin), set(rehearsal_dirs())
    before = binlog_bytes(admin)
    # The whole deploy: gate, backup verified on the rehearsal server, the rehearsal on the restored backup,
    # migrate, smoke test.
    result, flat = deploy(tmp_path, production, "deploy.yml", deploy_backup=True, schemagate_backup_dir=str(tmp_path / "backups"))
    assert result.returncode == 0, flat[-3000:]
    assert "GATE PASSED" in flat and "SMOKE TEST PASSED" in flat and "Rehearsed on the restored backup" in flat
    deploy_bytes = binlog_bytes(admin) - before
    print(f"\nbinlog bytes on production: plain migrate {plain_bytes}, whole deploy.yml (gate + backup + rehearsal on "
          f"the restored backup + migrate + smoke) {deploy_bytes} ({deploy_bytes / plain_bytes:.2f} x)")
    # The migrations' own DDL and bookkeeping, plus the deploy's lock row and journal; the gate, the backup and
    # its verification, and the rehearsal on the restored backup add nothing.
    assert deploy_bytes <= 2 * plain_bytes + 16384, (plain_bytes, deploy_bytes)
    assert database_names(admin) == databases  # no database was created on production's server
    assert set(rehearsal_dirs()) <= servers  # the gate's and the deploy's rehearsal servers are gone


HOSTILE = {
    "drop_database": "DROP DATABASE `{db}`;",
    "use_and_write": "USE `{db}`;\nCREATE TABLE hostile_use (id INT PRIMARY KEY);\nINSERT INTO hostile_use VALUES (1);\n"
                     "UPDATE companies SET name = 'pwned';",
    "qualified_writes": "UPDATE `{db}`.companies SET name = 'pwned';\nDELETE FROM `{db}`.companies;\n"
                        "CREATE TABLE `{db}`.hostile_qualified (id INT PRIMARY KEY);",
    "grant": "CREATE USER 'sg_hostile'@'%' IDENTIFIED BY 'hostile-password';\nGRANT ALL PRIVILEGES ON *.* TO 'sg_hostile'@'%';",
}


def hostile_users(admin):
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM mysql.user WHERE User = 'sg_hostile'")
        return cur.fetchone()[0]


@pytest.fixture
def staging(tmp_path):
    """A staging server of its own (for schemagate_rehearsal_mode: server), stopped afterwards."""
    watched = subprocess.Popen(["sleep", "600"])  # it stops when this stand-in controller ends
    started = sandbox.start_rehearsal(watched.pid)
    yield started
    sandbox.stop_rehearsal(started["path"])
    watched.kill()
    watched.wait()


def test_hostile_migrations_reach_only_the_rehearsal_copy(admin, server, sandbox_cfg, staging, tmp_path):
    """DROP DATABASE, USE, qualified writes and GRANT: production unchanged after gate.yml and deploy.yml --check."""
    hosts, cases = {}, {}
    for case, up in sorted(HOSTILE.items()):
        database = create_production(admin)
        migrations = tmp_path / f"migrations-{case}"
        shutil.copytree(MIGRATIONS_DIR, migrations)
        (migrations / "2025_10_02_000000_hostile.up.sql").write_text(up.format(db=database) + "\n")
        (migrations / "2025_10_02_000000_hostile.down.sql").write_text("SELECT 1;\n")
        hosts[case] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "schemagate_database": database,
            "schemagate_migrations_dir": str(migrations),
            "gate_report_root": str(tmp_path / case),
            "schemagate_state_dir": str(tmp_path / case / "state"),
        }
        cases[case] = database
    # One host rehearses on a configured staging server instead of the embedded one.
    hosts["grant"].update(schemagate_rehearsal_mode="server", schemagate_rehearsal_login_unix_socket=staging["socket"],
                          schemagate_rehearsal_config_file=staging["config_file"])
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {
        "vars": {"schemagate_project_dir": REPO, "schemagate_config_file": sandbox_cfg.deploy_cnf},
        "children": {"databases": {"hosts": hosts}},
    }}))
    vars_file = tmp_path / "fast.json"
    vars_file.write_text(json.dumps({**FAST_GATE, "deploy_backup": False}))
    try:
        before = {case: snapshot(admin, server, db) for case, db in cases.items()}
        databases, binlog = database_names(admin), binlog_bytes(admin)
        for run in (["playbooks/gate.yml"], ["deploy.yml", "--check"]):
            result = playbook(*run, "-i", str(inventory), "--forks", "4", extra_vars_file=str(vars_file))
            flat = " ".join(result.stdout.split())
            assert "Traceback" not in result.stdout + result.stderr, flat[-3000:]
            for case, database in cases.items():
                assert snapshot(admin, server, database) == before[case], (run, case)
            assert database_names(admin) == databases, run
            assert binlog_bytes(admin) == binlog, (run, "production's binary log grew")
            assert hostile_users(admin) == 0
            assert rehearsal_dirs() == [staging["path"]]  # the embedded servers are gone; the staging one stays
            conn = connect(ConnectionParams(unix_socket=staging["socket"], config_file=staging["config_file"]))
            try:  # the staging server keeps nothing of the run but what the migration did to the server itself
                assert not database_exists(conn, cases["grant"])
            finally:
                conn.close()
        gate_reports = {case: json.loads(next((tmp_path / case).glob("*/gate.json")).read_text()) for case in cases}
        checks = {case: {c["code"]: c for c in report["checks"]} for case, report in gate_reports.items()}
        assert checks["grant"]["RH102"]["figures"]["mode"] == "server"
        assert all(checks[case]["RH102"]["figures"]["mode"] == "embedded" for case in cases if case != "grant")
        assert not gate_reports["drop_database"]["passed"]  # the copy it dropped could not record the migration
        print("\ngate verdicts: " + ", ".join(f"{case} {'passed' if r['passed'] else 'failed'}" for case, r in gate_reports.items()))
    finally:
        for database in cases.values():
            drop_database(admin, database)


def ended(pid):
    """Whether a process is gone (reaping it if this test process started it)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_the_embedded_server_goes_when_its_controller_is_killed():
    watched = subprocess.Popen(["sleep", "600"])  # stands in for ansible-playbook
    started = sandbox.start_rehearsal(watched.pid)
    try:
        assert oct(os.stat(started["path"]).st_mode & 0o777) == "0o700"
        conn = connect(ConnectionParams(unix_socket=started["socket"], config_file=started["config_file"]))
        with conn.cursor() as cur:
            cur.execute("SELECT @@log_bin, @@innodb_flush_log_at_trx_commit, @@innodb_doublewrite, @@skip_networking")
            assert cur.fetchone() == (0, 0, 0, 1)  # disposable: no binary log, no durability, no TCP port
        conn.close()
        watched.kill()  # kill -9 of the controller: no always section runs
        watched.wait()
        assert wait_for(lambda: not os.path.exists(started["path"]), attempts=1200)
        assert wait_for(lambda: ended(started["pid"]))
    finally:
        if os.path.exists(started["path"]):
            sandbox.stop_rehearsal(started["path"])


def test_expectations_playbook_rehearses_on_the_rehearsal_server_and_only_reads_production(admin, server, production, tmp_path):
    """playbooks/expectations.yml used to build its copy on production's server: now it is the gate's rehearsal server."""
    databases, binlog, servers = database_names(admin), binlog_bytes(admin), set(rehearsal_dirs())
    before = snapshot(admin, server, production)
    rules = tmp_path / "expectations" / "app.yaml"
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"schemagate_database": production, "schemagate_expectations_file": str(rules)}))
    result = playbook("playbooks/expectations.yml", extra_vars_file=str(vars_file))
    flat = " ".join(result.stdout.split())
    assert result.returncode == 0, flat[-3000:]
    assert f"EXPECTATIONS {production}: 6 tables recorded" in flat
    assert rules.is_file() and (tmp_path / "expectations" / f"{production}_schema.yaml").is_file()
    assert binlog_bytes(admin) == binlog  # nothing written on production's server
    assert database_names(admin) == databases and snapshot(admin, server, production) == before
    assert set(rehearsal_dirs()) <= servers  # its embedded server is gone
