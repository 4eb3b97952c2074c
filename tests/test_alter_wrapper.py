"""Annotated ALTERs handed to pt-online-schema-change by the runner, on the sandbox, credentials never on argv.

pt-online-schema-change comes from Debian's percona-toolkit, which ./run install installs.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import sys

import pytest

from helpers import create_production, drop_database, playbook

from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.deploy.alter_wrapper import PT_OSC_TEMPLATE, AlterWrapper
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.runner import MigrationFailed, MigrationRunner, RunnerSettings
from plugins.module_utils.sandbox.sandbox import read_option

NAME = "2025_12_03_000001_online_change"
UP = """\
-- schemagate:alter-wrapper appointments is large: copy it online
ALTER TABLE appointments ADD COLUMN channel VARCHAR(20) NULL, MODIFY status VARCHAR(100) NOT NULL DEFAULT 'pending';
ALTER TABLE customers ADD COLUMN nickname VARCHAR(20) NULL;
"""
DOWN = """\
ALTER TABLE customers DROP COLUMN nickname;
ALTER TABLE appointments DROP COLUMN channel, MODIFY status VARCHAR(255) NOT NULL DEFAULT 'pending';
"""
RECORDER = """\
import json, os, stat, sys
defaults = next(a.split("F=", 1)[1].split(",", 1)[0] for a in sys.argv if "F=" in a)
with open(sys.argv[1], "w") as out:
    info = os.stat(defaults)
    json.dump({"argv": sys.argv[2:], "mode": stat.S_IMODE(info.st_mode), "where": os.readlink(defaults),
               "identity": [info.st_dev, info.st_ino], "defaults": defaults}, out)
os.execvp(sys.argv[2], sys.argv[2:])
"""


@pytest.fixture
def prod(admin):
    if shutil.which("pt-online-schema-change") is None:
        pytest.fail("pt-online-schema-change is missing: run ./run install (it installs percona-toolkit)")
    name = create_production(admin)
    yield name
    drop_database(admin, name)


def write_set(folder, up=UP, down=DOWN):
    folder.mkdir(exist_ok=True)
    (folder / f"{NAME}.up.sql").write_text(up)
    (folder / f"{NAME}.down.sql").write_text(down)
    return load_migrations(str(folder))


def definition(admin, database, table):
    with admin.cursor() as cur:
        cur.execute(f"SHOW CREATE TABLE `{database}`.`{table}`")
        return cur.fetchone()[1]


def test_an_annotated_alter_runs_through_pt_osc_with_its_password_only_in_a_private_file(admin, sandbox_cfg, prod, tmp_path):
    password = read_option(sandbox_cfg.deploy_cnf, "password")
    params = ConnectionParams(user="schemagate_deploy", password=password, host="127.0.0.1", port=sandbox_cfg.port)
    recorder = tmp_path / "record.py"
    recorder.write_text(RECORDER)
    record = tmp_path / "argv.json"
    template = f"{sys.executable} {recorder} {record} " + PT_OSC_TEMPLATE
    conn = connect(params, prod)
    try:
        hook = AlterWrapper(template, params, conn, prod)
        before_customers = definition(admin, prod, "customers")
        result = MigrationRunner(conn, RunnerSettings(prod), write_set(tmp_path / "m"), statement_hook=hook).migrate()
    finally:
        conn.close()
    assert result.names == [NAME]
    (run,) = hook.runs  # only the annotated statement went to the tool; the other ran natively
    assert run["exit_code"] == 0 and run["line"] == 2 and "Successfully altered" in run["output_tail"][-1]
    appointments = definition(admin, prod, "appointments")
    assert "`channel` varchar(20)" in appointments and "`status` varchar(100)" in appointments
    after_customers = definition(admin, prod, "customers")
    assert "`nickname`" in after_customers and after_customers != before_customers
    seen = json.loads(record.read_text())
    assert password not in " ".join(seen["argv"])
    # An inherited in-memory file (/dev/fd/N): no name in any directory, 0600, gone once the run closed it.
    assert seen["defaults"].startswith("/dev/fd/") and seen["where"].startswith("/memfd:schemagate-client-cnf")
    assert seen["mode"] == 0o600
    for fd in os.listdir("/proc/self/fd"):
        try:
            info = os.stat(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        assert [info.st_dev, info.st_ino] != seen["identity"]
    with admin.cursor() as cur:  # pt-osc's shadow table and triggers are gone
        cur.execute("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (prod,))
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME LIKE '\\_%%'", (prod,))
        assert cur.fetchone()[0] == 0


def test_a_failing_wrapper_fails_the_migration_which_stays_unapplied(admin, sandbox_cfg, prod, tmp_path):
    with admin.cursor() as cur:  # pt-osc cannot copy a table without a key to copy by
        cur.execute(f"CREATE TABLE `{prod}`.notes_log (body VARCHAR(40) NULL) ENGINE=InnoDB")
        cur.execute(f"INSERT INTO `{prod}`.notes_log VALUES ('a'), ('b')")
    up = "-- schemagate:alter-wrapper try it\nALTER TABLE notes_log ADD COLUMN author VARCHAR(20) NULL;\n"
    conn = connect(sandbox_cfg.deploy_params(), prod)
    try:
        runner = MigrationRunner(conn, RunnerSettings(prod), write_set(tmp_path / "m", up, "SELECT 1;\n"),
                                 statement_hook=AlterWrapper("pt-online-schema-change", sandbox_cfg.deploy_params(), conn, prod))
        with pytest.raises(MigrationFailed) as failure:
            runner.migrate()
        assert [str(s.state.value) for s in runner.status() if s.migration == NAME] == ["failed"]  # not applied
    finally:
        conn.close()
    assert "pt-online-schema-change exited" in failure.value.message and "line 2" in failure.value.message
    assert "`author`" not in definition(admin, prod, "notes_log")
    assert not glob.glob(os.path.join(os.environ.get("TMPDIR", "/tmp"), "schemagate-wrapper-*"))


def test_the_migrate_playbook_passes_the_alter_wrapper_to_the_runner(prod, tmp_path, admin):
    write_set(tmp_path / "m")
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"schemagate_database": prod, "schemagate_migrations_dir": str(tmp_path / "m"),
                                     "schemagate_alter_wrapper": "pt-online-schema-change"}))
    result = playbook("playbooks/migrate.yml", "-v", extra_vars_file=str(vars_file))
    assert result.returncode == 0, result.stdout[-3000:]
    flat = " ".join(result.stdout.split())
    assert "tool: pt-online-schema-change" in flat and "exit_code: 0" in flat
    assert "`channel` varchar(20)" in definition(admin, prod, "appointments")
