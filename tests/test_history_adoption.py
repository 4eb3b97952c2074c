"""Picking up a database another tool manages, from that tool's own table, and leaving that table as the tool would.

Rows are written here exactly as the tools write them (their own DDL and INSERTs), the schema by running the
migrations' statements directly, so nothing of schemagate's is involved in the "before".
"""
from __future__ import annotations

import os
import shutil

import pytest

from helpers import REPO, create_database, drop_database
from plugins.module_utils.core.catalog import schema_fingerprint
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.migrate.history import DEFAULT_TABLES, history_for
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.runner import APPLIED, PARTIAL, PENDING, MigrationRunner, RunnerSettings

CORPUS = os.path.join(REPO, "tests", "corpus")


@pytest.fixture
def empty_database(admin):
    name = create_database(admin, with_base_tables=False)
    yield name
    drop_database(admin, name)


def execute(admin, database, statements):
    with admin.cursor() as cur:
        cur.execute(f"USE `{database}`")
        for sql in statements:
            cur.execute(sql)


def run_by_hand(admin, database, migrations):
    """The schema the tool would have made: each migration's up statements, run directly."""
    execute(admin, database, [s.sql for m in migrations for s in m.up])


def tool_table_by_hand(admin, database, tool, migrations):
    """The tool's own table, with the rows the tool itself writes after applying ``migrations``."""
    history = history_for(tool, admin, database, DEFAULT_TABLES[tool], migrations)
    execute(admin, database, history.create_statements())
    if tool == "golang-migrate":
        execute(admin, database, [f"INSERT INTO schema_migrations (version, dirty) VALUES ({migrations[-1].version}, false)"])
    elif tool == "goose":
        execute(admin, database, [f"INSERT INTO goose_db_version (version_id, is_applied) VALUES ({m.version}, true)" for m in migrations])
    elif tool == "dbmate":
        execute(admin, database, [f"INSERT INTO schema_migrations (version) VALUES ('{m.version}')" for m in migrations])
    elif tool == "flyway":
        execute(admin, database, [
            "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, "
            f"execution_time, success) VALUES ({i + 1}, '{m.version}', '{m.description}', 'SQL', '{m.script}', {m.tool_checksum}, "
            "'flyway', 12, 1)" for i, m in enumerate(migrations)
        ])
    else:
        execute(admin, database, [f"INSERT INTO migrations (migration, batch) VALUES ('{m.name}', 1)" for m in migrations])


def runner_of(connection_to, database, directory, **settings):
    return MigrationRunner(connection_to(database), RunnerSettings(database=database, **settings), load_migrations(directory))


@pytest.mark.parametrize("tool", ["laravel", "golang-migrate", "goose", "dbmate", "flyway"])
def test_a_database_managed_by_the_tool_is_picked_up_and_left_as_the_tool_would(tool, empty_database, admin, server, connection_to):
    directory = os.path.join(CORPUS, tool)
    migrations = load_migrations(directory)
    run_by_hand(admin, empty_database, migrations[:5])
    tool_table_by_hand(admin, empty_database, tool, migrations[:5])
    runner = runner_of(connection_to, empty_database, directory)
    states = [s.state for s in runner.status()]
    assert states == [APPLIED] * 5 + [PENDING] * 3
    assert all(s.checksum == "unknown" for s in runner.status()[:5])  # applied by the tool, not by schemagate
    assert runner.migrate().names == [m.name for m in migrations[5:]]
    assert {s.state for s in runner.status()} == {APPLIED}
    reference = create_database(admin, with_base_tables=False)
    try:
        runner_of(connection_to, reference, directory).migrate()
        assert schema_fingerprint(admin, empty_database, server)["fingerprint"] == schema_fingerprint(admin, reference, server)["fingerprint"]
    finally:
        drop_database(admin, reference)


def test_a_dirty_golang_migrate_version_blocks_until_forced(empty_database, admin, connection_to):
    directory = os.path.join(CORPUS, "golang-migrate")
    migrations = load_migrations(directory)
    run_by_hand(admin, empty_database, migrations[:4])
    tool_table_by_hand(admin, empty_database, "golang-migrate", migrations[:4])
    execute(admin, empty_database, ["UPDATE schema_migrations SET version = 9, dirty = true"])  # golang-migrate died in 9
    runner = runner_of(connection_to, empty_database, directory)
    status = {s.migration: s for s in runner.status()}
    assert status["9_add_reviews_rating_trigger"].state == PARTIAL
    assert "dirty" in status["9_add_reviews_rating_trigger"].detail
    for attempt in (runner.migrate, runner.rollback):
        with pytest.raises(SchemagateError, match=r"schema_migrations says version 9 is dirty.*migrate force") as failure:
            attempt()
        assert "\n" not in failure.value.message
    execute(admin, empty_database, ["UPDATE schema_migrations SET version = 4, dirty = false"])  # `migrate force 4`
    assert runner.migrate().names[0] == "9_add_reviews_rating_trigger"


def test_a_failed_flyway_row_blocks_until_repaired(empty_database, admin, connection_to):
    directory = os.path.join(CORPUS, "flyway")
    migrations = load_migrations(directory)
    run_by_hand(admin, empty_database, migrations[:2])
    tool_table_by_hand(admin, empty_database, "flyway", migrations[:2])
    execute(admin, empty_database, [
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, "
        f"execution_time, success) VALUES (3, '2', 'create reviews', 'SQL', '{migrations[2].script}', {migrations[2].tool_checksum}, "
        "'flyway', 5, 0)"
    ])
    runner = runner_of(connection_to, empty_database, directory)
    with pytest.raises(SchemagateError, match=r"records a failed migration to version 2 .*flyway repair"):
        runner.migrate()
    execute(admin, empty_database, ["DELETE FROM flyway_schema_history WHERE success = 0"])  # what `flyway repair` does
    assert len(runner.migrate().names) == 6


def test_goose_reads_the_newest_row_of_each_version(empty_database, admin, connection_to):
    directory = os.path.join(CORPUS, "goose")
    migrations = load_migrations(directory)
    run_by_hand(admin, empty_database, migrations[:3])
    tool_table_by_hand(admin, empty_database, "goose", migrations[:3])
    # Older goose recorded a rollback as a newer is_applied = false row: the version is not applied.
    execute(admin, empty_database, [f"INSERT INTO goose_db_version (version_id, is_applied) VALUES ({migrations[2].version}, false)",
                                    "DROP TABLE reviews"])
    runner = runner_of(connection_to, empty_database, directory)
    assert [s.state for s in runner.status()][:4] == [APPLIED, APPLIED, PENDING, PENDING]
    runner.migrate()
    with admin.cursor() as cur:
        cur.execute(f"SELECT version_id, is_applied FROM `{empty_database}`.goose_db_version ORDER BY id DESC LIMIT 1")
        assert cur.fetchone() == (int(migrations[-1].version), 1)


@pytest.mark.parametrize("tool, version, expected_rows", [
    ("laravel", "2025_03_05_120004", "SELECT COUNT(*) FROM {db}.migrations WHERE batch = 1"),
    ("golang-migrate", "9", "SELECT version FROM {db}.schema_migrations WHERE dirty = 0"),
    ("dbmate", "20250301120400", "SELECT COUNT(*) FROM {db}.schema_migrations"),
    ("flyway", "2.1.1", "SELECT COUNT(*) FROM {db}.flyway_schema_history WHERE type = 'BASELINE' AND version = '2.1.1' "
                        "AND script = '<< Flyway Baseline >>' AND checksum IS NULL AND success = 1"),
])
def test_baseline_records_the_existing_schema_and_migrate_runs_only_the_rest(tool, version, expected_rows, empty_database, admin,
                                                                             connection_to):
    directory = os.path.join(CORPUS, tool)
    migrations = load_migrations(directory)
    run_by_hand(admin, empty_database, migrations[:5])  # a database with that schema and no history
    runner = runner_of(connection_to, empty_database, directory)
    assert runner.baseline(version) == [m.name for m in migrations[:5]]
    with admin.cursor() as cur:
        cur.execute(expected_rows.format(db=f"`{empty_database}`"))
        assert cur.fetchone()[0] == {"golang-migrate": 9, "flyway": 1}.get(tool, 5)
    assert [s.state for s in runner.status()] == [APPLIED] * 5 + [PENDING] * 3
    assert all(s.checksum == "ok" for s in runner.status()[:5])  # edits after the baseline are caught
    assert runner.migrate().names == [m.name for m in migrations[5:]]
    with pytest.raises(SchemagateError, match="a baseline is for a database with no history"):
        runner.baseline(version)


def test_an_application_table_named_like_the_bookkeeping_table_is_refused(empty_database, admin, connection_to, tables_of):
    execute(admin, empty_database, ["CREATE TABLE migrations (id INT PRIMARY KEY, name VARCHAR(50), ran_at DATETIME)",
                                    "INSERT INTO migrations VALUES (1, 'the app''s own row', NOW())"])
    runner = runner_of(connection_to, empty_database, os.path.join(CORPUS, "laravel"))
    for attempt in (runner.status, runner.migrate):
        with pytest.raises(SchemagateError) as failure:
            attempt()
        message = failure.value.message
        assert "Table 'migrations'" in message and "set migrations_table" in message and "\n" not in message
    assert set(tables_of(empty_database, bookkeeping=True)) == {"migrations"}  # nothing created, nothing written
    # Setting the option keeps schemagate's history out of the application's way.
    other = runner_of(connection_to, empty_database, os.path.join(CORPUS, "laravel"), migrations_table="schema_history")
    assert len(other.migrate().names) == 8
    with admin.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{empty_database}`.migrations")
        assert cur.fetchone()[0] == 1


def test_golang_migrate_schema_migrations_is_not_taken_for_dbmate(empty_database, admin, connection_to):
    execute(admin, empty_database, ["CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)"])
    with pytest.raises(SchemagateError, match="not dbmate's bookkeeping table.*golang-migrate"):
        runner_of(connection_to, empty_database, os.path.join(CORPUS, "dbmate")).status()


def test_flyway_repeatables_run_after_versions_and_again_when_changed(empty_database, admin, connection_to, tmp_path):
    directory = tmp_path / "flyway"
    shutil.copytree(os.path.join(CORPUS, "flyway"), directory)
    (directory / "R__book_overview.sql").write_text("CREATE OR REPLACE VIEW book_overview AS SELECT id, title FROM books;\n")
    runner = runner_of(connection_to, empty_database, str(directory))
    assert runner.migrate().names[-1] == "R__book_overview"
    assert not runner.migrate().changed
    (directory / "R__book_overview.sql").write_text("CREATE OR REPLACE VIEW book_overview AS SELECT id, title, isbn FROM books;\n")
    runner = runner_of(connection_to, empty_database, str(directory))
    assert [s.state for s in runner.status()][-1] == PENDING
    assert runner.migrate().names == ["R__book_overview"]  # re-applied, not refused as an edit
    with admin.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{empty_database}`.flyway_schema_history WHERE script = 'R__book_overview.sql' AND success = 1")
        assert cur.fetchone()[0] == 2
    result = runner.rollback(steps=1)
    assert result.names == ["V10.0.1__note_release_2"] and "repeatable migrations are never undone" in result.notes[0]


def test_an_irreversible_migration_is_declared_and_its_rollback_refused_in_one_line(empty_database, connection_to, tables_of, tmp_path):
    directory = tmp_path / "golang"
    directory.mkdir()
    (directory / "1_create_a.up.sql").write_text("CREATE TABLE a (id INT PRIMARY KEY);\n")
    (directory / "1_create_a.down.sql").write_text("DROP TABLE a;\n")
    (directory / "2_backfill.up.sql").write_text("INSERT INTO a VALUES (1), (2);\n")  # up-only: data can't be un-inserted
    runner = runner_of(connection_to, empty_database, str(directory))
    runner.migrate()
    status = {s.migration: s for s in runner.status()}
    assert status["2_backfill"].reversible is False and status["2_backfill"].as_dict()["reversible"] is False
    assert status["1_create_a"].reversible is True
    before = tables_of(empty_database, bookkeeping=True)
    with pytest.raises(SchemagateError, match=r"^Cannot roll back 2_backfill: no down: only a restore undoes it\.$"):
        runner.rollback()
    assert tables_of(empty_database, bookkeeping=True) == before
