"""Bad input: one clear line saying what to fix, and nothing changed on the server."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import REPO

from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.runner import RunnerSettings


def one_line(exc: SchemagateError) -> str:
    assert "\n" not in exc.message and "Traceback" not in exc.message
    return exc.message


def write(directory, filename, text="SELECT 1;"):
    with open(os.path.join(directory, filename), "w", encoding="utf-8") as handle:
        handle.write(text)


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("2025_10_01_create_thing.up.sql", "Misnamed migration file"),
        ("2025_10_01_070000_Create-Thing.up.sql", "Misnamed migration file"),
        ("2025_10_01_070000_create_thing.sql", "Misnamed migration file"),
    ],
)
def test_misnamed_files_are_refused(migrations_copy, filename, expected):
    write(migrations_copy, filename)
    with pytest.raises(SchemagateError) as failure:
        load_migrations(migrations_copy)
    assert expected in one_line(failure.value) and filename in failure.value.message


def test_an_up_only_migration_is_allowed_and_declared_irreversible(migrations_copy):
    write(migrations_copy, "2025_10_01_070000_create_thing.up.sql", "CREATE TABLE thing (id INT PRIMARY KEY);")
    loaded = {m.name: m for m in load_migrations(migrations_copy)}
    assert loaded["2025_10_01_070000_create_thing"].reversible is False
    assert loaded["2025_10_01_070000_create_thing"].down is None
    assert all(m.reversible for name, m in loaded.items() if name != "2025_10_01_070000_create_thing")


def test_a_down_file_without_its_up(migrations_copy):
    write(migrations_copy, "2025_10_01_070000_create_thing.down.sql", "DROP TABLE thing;")
    with pytest.raises(SchemagateError, match=r"2025_10_01_070000_create_thing has a down file but no up file"):
        load_migrations(migrations_copy)


def test_duplicate_versions(migrations_copy):
    for name in ("2025_10_01_060100_create_other_table",):
        write(migrations_copy, f"{name}.up.sql")
        write(migrations_copy, f"{name}.down.sql")
    with pytest.raises(SchemagateError, match="Duplicate migration version 2025_10_01_060100"):
        load_migrations(migrations_copy)


def test_unterminated_quote_names_file_and_line(migrations_copy):
    write(migrations_copy, "2025_10_01_070000_create_thing.up.sql", "CREATE TABLE thing (id INT);\nINSERT INTO thing VALUES ('oops);\n")
    write(migrations_copy, "2025_10_01_070000_create_thing.down.sql", "DROP TABLE thing;")
    with pytest.raises(SchemagateError, match=r"create_thing\.up\.sql: line 2: unterminated ' quote"):
        load_migrations(migrations_copy)


def test_an_empty_or_comment_only_migration_is_allowed(migrations_copy):
    write(migrations_copy, "2025_10_01_070000_create_thing.up.sql", "-- nothing yet\n")
    write(migrations_copy, "2025_10_01_070000_create_thing.down.sql", "")
    loaded = {m.name: m for m in load_migrations(migrations_copy)}
    assert loaded["2025_10_01_070000_create_thing"].up == () and loaded["2025_10_01_070000_create_thing"].down == ()
    assert loaded["2025_10_01_070000_create_thing"].reversible


def test_missing_directory(tmp_path):
    with pytest.raises(SchemagateError, match="does not exist: set migrations_dir"):
        load_migrations(str(tmp_path / "nope"))


@pytest.mark.parametrize("name", ["askproai`db", "x'; DROP DATABASE y; --", "db.name", "", "a" * 65])
def test_identifiers_with_quotes_or_backticks_are_refused(name):
    with pytest.raises(SchemagateError) as failure:
        RunnerSettings(database=name)
    assert "Invalid database name" in one_line(failure.value)


def test_unknown_database(sandbox_cfg):
    with pytest.raises(SchemagateError) as failure:
        connect(sandbox_cfg.admin_params(), "no_such_database_here")
    assert one_line(failure.value).startswith("Unknown database 'no_such_database_here'")


def test_wrong_password_is_named_without_echoing_it(sandbox_cfg):
    params = ConnectionParams(host="127.0.0.1", port=sandbox_cfg.port, user="schemagate_deploy", password="hunter2-wrong")
    with pytest.raises(SchemagateError) as failure:
        connect(params)
    message = one_line(failure.value)
    assert message.startswith("Access denied for schemagate_deploy@127.0.0.1")
    assert "hunter2" not in message


def test_unreachable_host(sandbox_cfg):
    params = ConnectionParams(host="127.0.0.1", port=1, user="nobody", password="x", connect_timeout=2)
    with pytest.raises(SchemagateError) as failure:
        connect(params)
    assert "Cannot reach the MySQL server at nobody@127.0.0.1:1" in one_line(failure.value)


def test_a_sandbox_on_a_busy_port_fails_at_once_naming_the_cause(sandbox_cfg, tmp_path):
    from plugins.module_utils.sandbox import sandbox

    clash = sandbox.SandboxConfig(root=str(tmp_path / "second"), port=sandbox_cfg.port)
    with pytest.raises(SchemagateError) as failure:
        sandbox.start(clash, timeout=120)
    message = one_line(failure.value)
    assert message.startswith("The sandbox server exited at start-up:")
    assert "Address already in use" in message
    assert sandbox.status(sandbox_cfg)["running"]  # the first instance is untouched


def test_a_scratch_database_named_like_production_is_refused(admin, database):
    from plugins.module_utils.core.scratch import check_scratch_target, drop_scratch
    from plugins.module_utils.gate.clone import clone_schema
    from plugins.module_utils.core.dialect import detect_server

    for name in (database, database.upper()):
        with pytest.raises(SchemagateError, match="is the production database itself"):
            check_scratch_target(database, name)
    with pytest.raises(SchemagateError, match="is the production database itself"):
        clone_schema(admin, admin, detect_server(admin), database, database, "run1")
    # A database schemagate did not clone is never dropped, whatever the caller asks.
    with pytest.raises(SchemagateError, match="not created by this schemagate run"):
        drop_scratch(admin, "some_other_production", database, "run1")
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,))
        assert cur.fetchone()[0] == 1


def test_a_sandbox_scale_of_zero_is_one_line_and_starts_nothing(tmp_path):
    """Through Ansible, as the sandbox role calls it: no traceback, and no server or folder left behind."""
    root = tmp_path / "never-started"
    bin_dir = os.path.dirname(sys.executable)
    result = subprocess.run(
        [os.path.join(bin_dir, "ansible"), "localhost", "-m", "schemagate.mysql.sandbox", "-a",
         f"path={root} port=3499 production_database=demo base_schema_file={REPO}/sql/base_schema.sql scale=0"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1", PATH=f"{bin_dir}:{os.environ['PATH']}"),
    )
    assert result.returncode != 0
    assert "The scale factor must be > 0, got 0.0" in result.stdout, result.stdout[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert not root.exists()
