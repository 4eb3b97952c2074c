"""A failed migration, fixed, runs again; a partial resumes or is undone exactly; status shows every state.

Also: what a failure says (file, line, what to do, completed work in brief), sql_mode, and MySQL 8 syntax on
MariaDB named as such by the server's own error.
"""
from __future__ import annotations

import os

import pytest

from helpers import MIGRATIONS_DIR
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.sql_script import Statement
from plugins.module_utils.migrate.migration import Migration
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.runner import (
    APPLIED, CHECKSUM_CHANGED, FAILED, MISSING_FILE, PARTIAL, PENDING, MigrationFailed, MigrationRunner, RunnerSettings,
)

NAME = "2025_10_02_000000_extend_customers"


def write(directory, name, up, down=None):
    with open(os.path.join(directory, f"{name}.up.sql"), "w", encoding="utf-8") as handle:
        handle.write(up)
    if down is not None:
        with open(os.path.join(directory, f"{name}.down.sql"), "w", encoding="utf-8") as handle:
            handle.write(down)


def states(runner):
    return {s.migration: s.state for s in runner.status()}


def test_a_migration_that_failed_having_changed_nothing_is_pending_again_and_runs_once_fixed(database, runner_for, migrations_copy):
    runner_for(database, migrations_copy).migrate()
    write(migrations_copy, NAME, "ALTER TABLE customers ADD COLUMN tier VARCHAR(20) AFTER no_such_column;\n",
          "ALTER TABLE customers DROP COLUMN tier;\n")
    runner = runner_for(database, migrations_copy)
    with pytest.raises(MigrationFailed) as failure:
        runner.migrate()
    assert "it changed nothing, so it is pending again" in failure.value.message
    status = {s.migration: s for s in runner.status()}
    assert status[NAME].state == FAILED and "fix the file and migrate again" in status[NAME].detail
    assert NAME in [m.name for m in runner.pending()]
    assert NAME not in runner.rollback(pretend=True).names  # nothing of it to undo
    write(migrations_copy, NAME, "ALTER TABLE customers ADD COLUMN tier VARCHAR(20) NULL;\n")  # fixed
    fixed = runner_for(database, migrations_copy)
    assert fixed.migrate().names == [NAME]
    assert states(fixed)[NAME] == APPLIED
    assert not fixed.migrate().changed  # and no "no longer matches its recorded checksum" ever after
    assert {s.checksum for s in fixed.status()} == {"ok"}


def test_a_partial_whose_completed_statements_are_unchanged_resumes_at_the_failed_one(database, runner_for, migrations_copy, tables_of):
    runner_for(database, migrations_copy).migrate()
    first = "ALTER TABLE customers ADD COLUMN tier VARCHAR(20) NULL;\nCREATE INDEX idx_customers_tier ON customers (company_id, tier);\n"
    write(migrations_copy, NAME, first + "ALTER TABLE customers ADD COLUMN score INT AFTER no_such_column;\n",
          "ALTER TABLE customers DROP INDEX idx_customers_tier, DROP COLUMN score, DROP COLUMN tier;\n")
    runner = runner_for(database, migrations_copy)
    with pytest.raises(MigrationFailed):
        runner.migrate()
    assert states(runner)[NAME] == PARTIAL
    write(migrations_copy, NAME, first + "ALTER TABLE customers ADD COLUMN score INT NULL AFTER tier;\n")
    result = runner_for(database, migrations_copy).migrate()
    assert result.names == [NAME] and result.runs[0].resumed_from == 3
    columns = list(tables_of(database, ["customers"])["customers"].column_names)
    assert columns[-2:] == ["tier", "score"]
    assert states(runner_for(database, migrations_copy))[NAME] == APPLIED


def test_a_partial_whose_completed_statements_changed_names_what_to_undo_first(database, runner_for, migrations_copy):
    runner_for(database, migrations_copy).migrate()
    write(migrations_copy, NAME, "CREATE TABLE loyalty (id INT PRIMARY KEY);\nALTER TABLE customers ADD COLUMN x INT AFTER nope;\n",
          "DROP TABLE loyalty;\n")
    runner = runner_for(database, migrations_copy)
    with pytest.raises(MigrationFailed):
        runner.migrate()
    write(migrations_copy, NAME, "CREATE TABLE loyalty (id BIGINT PRIMARY KEY);\nALTER TABLE customers ADD COLUMN x INT NULL;\n",
          "DROP TABLE loyalty;\n")
    edited = runner_for(database, migrations_copy)
    with pytest.raises(SchemagateError) as failure:
        edited.migrate()
    message = failure.value.message
    assert f"Migration {NAME} stopped after 1 of 2 statements and cannot resume safely" in message
    assert "undo it first with command=rollback" in message and "table loyalty" in message
    assert edited.rollback(steps=1).names == [NAME]
    assert edited.migrate().names == [NAME]


def test_a_partial_rollback_undoes_exactly_what_ran(database, runner_for, migrations_copy, tables_of):
    runner_for(database, migrations_copy).migrate()
    before = tables_of(database)
    write(migrations_copy, NAME,
          "CREATE TABLE loyalty_tiers (id INT PRIMARY KEY);\n"
          "ALTER TABLE customers ADD COLUMN tier_id INT NULL;\n"
          "ALTER TABLE customers ADD INDEX idx_tier (tier_id), ADD COLUMN broken INT AFTER no_such_column;\n"
          "ALTER TABLE customers ADD CONSTRAINT fk_customers_tier FOREIGN KEY (tier_id) REFERENCES loyalty_tiers (id);\n",
          # Written for the whole change: no IF EXISTS anywhere, so running it as is would fail at once.
          "ALTER TABLE customers DROP FOREIGN KEY fk_customers_tier;\n"
          "ALTER TABLE customers DROP INDEX idx_tier, DROP COLUMN broken, DROP COLUMN tier_id;\n"
          "DROP TABLE loyalty_tiers;\n")
    runner = runner_for(database, migrations_copy)
    with pytest.raises(MigrationFailed):
        runner.migrate()
    undone = runner.rollback(steps=1)
    assert undone.names == [NAME]
    run = undone.runs[0]
    assert run.statements == ["ALTER TABLE customers DROP INDEX idx_tier, DROP COLUMN broken, DROP COLUMN tier_id",
                              "DROP TABLE loyalty_tiers"]
    assert "statement 1 (line 1): foreign key customers.fk_customers_tier does not exist" in run.skipped[0]
    assert sorted(run.removed) == ["column customers.tier_id", "table loyalty_tiers"]
    assert tables_of(database) == before
    assert states(runner)[NAME] == PENDING


def test_a_partial_rollback_that_cannot_be_judged_says_what_remains_and_how_to_finish(database, runner_for, migrations_copy, admin,
                                                                                      tables_of):
    runner_for(database, migrations_copy).migrate()
    before = tables_of(database)
    write(migrations_copy, NAME,
          "CREATE TABLE loyalty_tiers (id INT PRIMARY KEY);\nALTER TABLE customers ADD COLUMN tier_id INT NULL;\n"
          "ALTER TABLE customers ADD COLUMN broken INT AFTER no_such_column;\n",
          "UPDATE customers SET tier_id = NULL;\nALTER TABLE customers DROP COLUMN tier_id;\nDROP TABLE loyalty_tiers;\n")
    runner = runner_for(database, migrations_copy)
    with pytest.raises(MigrationFailed):
        runner.migrate()
    with pytest.raises(SchemagateError) as failure:
        runner.rollback(steps=1)
    message = failure.value.message
    assert "stopped before down statement 1 of 3" in message and "it changes data" in message
    assert "Still in place from its up: column customers.tier_id, table loyalty_tiers" in message
    assert "Finish by hand" in message and "run rollback again" in message
    assert failure.value.details["remaining_objects"] == ["column customers.tier_id", "table loyalty_tiers"]
    with admin.cursor() as cur:  # the DBA finishes by hand
        cur.execute(f"ALTER TABLE `{database}`.customers DROP COLUMN tier_id")
        cur.execute(f"DROP TABLE `{database}`.loyalty_tiers")
    assert runner.rollback(steps=1).names == [NAME]  # nothing of it is left: the record is just cleared
    assert states(runner)[NAME] == PENDING and tables_of(database) == before


def test_a_failing_down_that_changed_nothing_leaves_the_migration_applied(database, runner_for, migrations_copy):
    write(migrations_copy, NAME, "ALTER TABLE customers ADD COLUMN tier VARCHAR(5) NULL;\n", "ALTER TABLE customerz DROP COLUMN tier;\n")
    runner = runner_for(database, migrations_copy)
    runner.migrate()
    with pytest.raises(MigrationFailed) as failure:
        runner.rollback(steps=1)
    assert "it changed nothing, so the migration is still applied" in failure.value.message
    assert states(runner)[NAME] == APPLIED
    write(migrations_copy, NAME, "ALTER TABLE customers ADD COLUMN tier VARCHAR(5) NULL;\n", "ALTER TABLE customers DROP COLUMN tier;\n")
    assert runner_for(database, migrations_copy).rollback(steps=1).names == [NAME]


def test_status_shows_every_state(database, runner_for, migrations_copy, tmp_path):
    runner_for(database, migrations_copy).migrate()
    write(migrations_copy, "2025_10_02_000002_fails_at_once", "ALTER TABLE nope ADD x INT;\n", "SELECT 1;\n")
    with pytest.raises(MigrationFailed):
        runner_for(database, migrations_copy).migrate()
    write(migrations_copy, "2025_10_02_000001_stops_halfway", "CREATE TABLE half (id INT PRIMARY KEY);\nALTER TABLE nope ADD x INT;\n",
          "DROP TABLE half;\n")
    with pytest.raises(MigrationFailed):
        runner_for(database, migrations_copy).migrate()
    write(migrations_copy, "2025_10_02_000003_later", "SELECT 1;\n", "SELECT 1;\n")
    with open(os.path.join(migrations_copy, "2025_10_01_060100_create_notification_configurations_table.up.sql"), "a") as handle:
        handle.write("\n-- edited after it ran\n")
    for direction in ("up", "down"):
        os.remove(os.path.join(migrations_copy, f"2025_10_01_060400_create_appointment_modification_stats_table.{direction}.sql"))
    found = {s.migration: s for s in runner_for(database, migrations_copy).status()}
    assert found["2025_10_01_060201_create_policy_configurations_table"].state == APPLIED
    assert found["2025_10_01_060100_create_notification_configurations_table"].state == CHECKSUM_CHANGED
    assert found["2025_10_01_060400_create_appointment_modification_stats_table"].state == MISSING_FILE
    assert found["2025_10_02_000001_stops_halfway"].state == PARTIAL
    assert "stopped after 1 of 2 statements" in found["2025_10_02_000001_stops_halfway"].detail
    assert found["2025_10_02_000002_fails_at_once"].state == FAILED
    assert found["2025_10_02_000003_later"].state == PENDING
    assert {s.as_dict()["state"] for s in found.values()} == {"applied", "checksum_changed", "missing_file", "partial", "failed", "pending"}


def test_a_failure_names_file_line_and_the_fix_and_lists_completed_work_briefly(database, runner_for, migrations_copy):
    write(migrations_copy, NAME, "-- a trigger written for a tool that sends whole statements\n"
          "CREATE TABLE loyalty (id INT PRIMARY KEY, points INT NOT NULL DEFAULT 0);\n"
          "CREATE TRIGGER loyalty_points BEFORE INSERT ON loyalty FOR EACH ROW\nBEGIN\n  SET NEW.points = GREATEST(NEW.points, 0);\n"
          "END;\nALTER TABLE loyalty ADD COLUMN x INT AFTER nope;\n", "DROP TABLE IF EXISTS loyalty;\n")
    with pytest.raises(MigrationFailed) as failure:
        runner_for(database, migrations_copy).migrate()
    error = failure.value
    assert f"failed at statement 3 of 3 ({os.path.join(migrations_copy, NAME)}.up.sql line 7)" in error.message
    assert "statements 1-2 had created: table loyalty, trigger loyalty_points" in error.message
    assert "Before it, this run completed 6 migration(s) (6 statements; created: table" in error.message
    assert "CREATE TABLE notification_configurations" not in error.message  # completed work in brief, not in full
    assert error.details["completed"][0] == {
        "migration": "2025_10_01_060100_create_notification_configurations_table", "direction": "up", "statements": 1,
        "created_objects": ["table notification_configurations"], "removed_objects": [],
    }


def test_a_compound_cut_at_a_semicolon_is_explained_with_delimiter(database, connection_to):
    cut = Statement("CREATE PROCEDURE p()\nBEGIN\n  SELECT 1", 4)  # what a client that splits at every ';' sends
    migration = Migration("2025_10_02_000000_cut", "2025_10_02_000000", "/m/cut.up.sql", None, (cut,), None, "0" * 64, ("x",))
    with pytest.raises(MigrationFailed) as failure:
        MigrationRunner(connection_to(database), RunnerSettings(database=database), [migration]).migrate()
    assert "(/m/cut.up.sql line 4)" in failure.value.message and "use DELIMITER" in failure.value.message


@pytest.mark.parametrize("sql, construct", [
    ("ALTER TABLE customers ALTER INDEX idx_company INVISIBLE", "ALTER INDEX ... VISIBLE/INVISIBLE"),
    ("CREATE TABLE mysql_only (a INT, b INT, INDEX idx_sum ((a + b)))", "a functional key part"),
    ("CREATE TABLE mysql_only (a INT) COLLATE utf8mb4_0900_ai_ci", "utf8mb4_0900"),
])
def test_mysql_8_syntax_on_mariadb_is_named_from_the_servers_error(database, connection_to, tmp_path, sql, construct, server):
    if not server.is_mariadb:
        pytest.skip("the MySQL-only constructs are MySQL's own syntax here")
    directory = tmp_path / "mysql8"
    directory.mkdir()
    write(str(directory), "2025_10_02_000000_mysql8", sql + ";\n", "SELECT 1;\n")
    runner = MigrationRunner(connection_to(database), RunnerSettings(database=database, sql_mode="mysql8"),
                             load_migrations(str(directory)))
    with pytest.raises(MigrationFailed) as failure:
        runner.migrate()
    assert construct in failure.value.message and "MySQL 8 syntax that MariaDB" in failure.value.message
    assert states(runner)["2025_10_02_000000_mysql8"] == FAILED  # nothing changed: fix and migrate again


def test_sql_mode_is_set_per_session_and_a_bad_one_is_refused_in_one_line(database, connection_to, tmp_path):
    directory = tmp_path / "modes"
    directory.mkdir()
    write(str(directory), "2025_10_02_000000_mode", "CREATE TABLE mode_probe AS SELECT @@SESSION.sql_mode AS mode;\n", "DROP TABLE mode_probe;\n")
    conn = connection_to(database)
    MigrationRunner(conn, RunnerSettings(database=database, sql_mode="mysql8"), load_migrations(str(directory))).migrate()
    with conn.cursor() as cur:
        cur.execute(f"SELECT mode FROM `{database}`.mode_probe")
        assert cur.fetchone()[0].startswith("ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES")
    with pytest.raises(SchemagateError, match=r"sql_mode 'NO_SUCH_MODE' is refused by the server .*\(1231\)"):
        MigrationRunner(conn, RunnerSettings(database=database, sql_mode="NO_SUCH_MODE"), load_migrations(str(directory))).rollback()


def test_the_shipped_migrations_still_run_unchanged(database, runner_for):
    assert len(runner_for(database, MIGRATIONS_DIR).migrate().names) == 6
