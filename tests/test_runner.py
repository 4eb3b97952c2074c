"""The runner against the real server: Laravel batch semantics, checksums, pretend, failures."""
from __future__ import annotations

import os

import pytest

from plugins.module_utils.core.catalog import fingerprint
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.migrate.runner import APPLIED, PARTIAL, PENDING, MigrationFailed

FIRST, SECOND, THIRD, FOURTH, FIFTH, SIXTH = sorted(
    f[: -len(".up.sql")] for f in os.listdir(os.path.join(os.path.dirname(__file__), "..", "migrations"))
    if f.endswith(".up.sql")
)


def recorded(admin, database, table="migrations"):
    with admin.cursor() as cur:
        cur.execute(f"SELECT migration, batch FROM `{database}`.`{table}` ORDER BY id")
        return [tuple(row) for row in cur.fetchall()]


def test_migrate_applies_all_pending_as_one_batch_then_has_nothing_to_do(database, runner_for, admin):
    runner = runner_for(database)
    first = runner.migrate()
    assert first.changed and first.names == [FIRST, SECOND, THIRD, FOURTH, FIFTH, SIXTH]
    assert all(run.duration_ms > 0 and run.statements for run in first.runs)
    assert recorded(admin, database) == [(name, 1) for name in first.names]
    again = runner.migrate()
    assert not again.changed and again.runs == []
    assert recorded(admin, database) == [(name, 1) for name in first.names]


def test_step_gives_each_migration_its_own_batch(database, runner_for, admin):
    runner_for(database).migrate(step=True)
    assert [row[1] for row in recorded(admin, database)] == [1, 2, 3, 4, 5, 6]


def test_rollback_undoes_the_last_batch_in_reverse_order(database, runner_for, admin, migrations_copy):
    # Batch 1: the first four migrations; batch 2: the last two (added later).
    for name in (FIFTH, SIXTH):
        for direction in ("up", "down"):
            os.rename(os.path.join(migrations_copy, f"{name}.{direction}.sql"), os.path.join(migrations_copy, f"{name}.{direction}.sql.later"))
    runner_for(database, migrations_copy).migrate()
    for name in (FIFTH, SIXTH):
        for direction in ("up", "down"):
            os.rename(os.path.join(migrations_copy, f"{name}.{direction}.sql.later"), os.path.join(migrations_copy, f"{name}.{direction}.sql"))
    runner = runner_for(database, migrations_copy)
    assert runner.migrate().names == [FIFTH, SIXTH]
    assert recorded(admin, database) == [(FIRST, 1), (SECOND, 1), (THIRD, 1), (FOURTH, 1), (FIFTH, 2), (SIXTH, 2)]
    assert runner.rollback().names == [SIXTH, FIFTH]
    assert [row[0] for row in recorded(admin, database)] == [FIRST, SECOND, THIRD, FOURTH]
    assert runner.rollback().names == [FOURTH, THIRD, SECOND, FIRST]
    assert recorded(admin, database) == []
    assert not runner.rollback().changed


def test_rollback_steps_crosses_batches(database, runner_for, admin):
    runner = runner_for(database)
    runner.migrate(step=True)
    assert runner.rollback(steps=2).names == [SIXTH, FIFTH]
    assert runner.rollback().names == [FOURTH]  # last batch is now batch 4 alone
    runner.migrate()  # the three rolled back come back as one new batch
    assert recorded(admin, database)[-3:] == [(FOURTH, 4), (FIFTH, 4), (SIXTH, 4)]
    assert runner.rollback(steps=4).names == [SIXTH, FIFTH, FOURTH, THIRD]


def test_status_reports_applied_and_pending_with_batches(database, runner_for):
    runner = runner_for(database)
    assert {s.state for s in runner.status()} == {PENDING}
    runner.migrate(step=True)
    runner.rollback(steps=1)
    states = {s.migration: (s.state, s.batch, s.checksum) for s in runner.status()}
    assert states[FIRST] == (APPLIED, 1, "ok")
    assert states[FIFTH] == (APPLIED, 5, "ok")
    assert states[SIXTH] == (PENDING, None, "unknown")


def test_an_edited_applied_migration_is_refused(database, runner_for, migrations_copy, tables_of):
    runner_for(database, migrations_copy).migrate()
    path = os.path.join(migrations_copy, f"{SECOND}.up.sql")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("\n-- an innocent-looking edit\n")
    runner = runner_for(database, migrations_copy)
    assert [s.checksum for s in runner.status() if s.migration == SECOND] == ["changed"]
    before = fingerprint(tables_of(database))
    with pytest.raises(SchemagateError, match=f"Applied migration {SECOND} no longer matches its recorded checksum"):
        runner.migrate()
    assert fingerprint(tables_of(database)) == before


def test_pretend_returns_the_sql_and_changes_nothing(database, runner_for, tables_of):
    runner = runner_for(database)
    before = fingerprint(tables_of(database, bookkeeping=True))
    result = runner.migrate(pretend=True)
    assert result.pretend and result.changed
    assert result.names == [FIRST, SECOND, THIRD, FOURTH, FIFTH, SIXTH]
    assert result.runs[0].statements[0].startswith("CREATE TABLE notification_configurations")
    assert fingerprint(tables_of(database, bookkeeping=True)) == before  # not even the migrations table
    runner.migrate()
    after = fingerprint(tables_of(database))
    pretend_down = runner.rollback(steps=2, pretend=True)
    assert pretend_down.names == [SIXTH, FIFTH]
    assert pretend_down.runs[0].statements == ["DROP TABLE IF EXISTS appointment_modification_stats"]
    assert fingerprint(tables_of(database)) == after


def write_migration(directory, name, up, down):
    with open(os.path.join(directory, f"{name}.up.sql"), "w", encoding="utf-8") as handle:
        handle.write(up)
    with open(os.path.join(directory, f"{name}.down.sql"), "w", encoding="utf-8") as handle:
        handle.write(down)


def test_a_failing_migration_is_reported_precisely_and_not_recorded(database, runner_for, migrations_copy, admin, tables_of):
    name = "2025_10_02_000000_add_broken_audit_table"
    write_migration(
        migrations_copy,
        name,
        "CREATE TABLE audit_entries (id BIGINT UNSIGNED PRIMARY KEY, company_id BIGINT UNSIGNED NOT NULL);\n"
        "CREATE INDEX idx_audit_company ON audit_entries (company_id);\n"
        "ALTER TABLE audit_entries ADD COLUMN note TEXT AFTER no_such_column;\n",
        "DROP TABLE IF EXISTS audit_entries;\n",
    )
    runner = runner_for(database, migrations_copy)
    with pytest.raises(MigrationFailed) as failure:
        runner.migrate()
    error = failure.value
    assert f"Migration {name} (up) failed at statement 3 of 3" in error.message
    assert "no_such_column" in error.message
    assert error.details["failed_statement"].startswith("ALTER TABLE audit_entries ADD COLUMN note")
    assert error.details["created_objects"] == ["table audit_entries"]  # its columns and indexes go with it
    # The six good migrations before it are applied and recorded; the broken one is not.
    assert [row[0] for row in recorded(admin, database)] == [FIRST, SECOND, THIRD, FOURTH, FIFTH, SIXTH]
    status = {s.migration: s for s in runner.status()}
    assert status[name].state == PARTIAL
    assert "stopped after 2 of 3 statements" in status[name].detail
    # Rollback undoes the partial migration first, removing what it left behind.
    assert runner.rollback(steps=1).names == [name]
    assert "audit_entries" not in tables_of(database)
    assert status_of(runner, name) == PENDING


def test_a_failing_alter_reports_the_columns_and_indexes_it_added(database, runner_for, migrations_copy):
    name = "2025_10_02_000000_extend_customers"
    write_migration(
        migrations_copy,
        name,
        "ALTER TABLE customers ADD COLUMN loyalty_tier VARCHAR(20) NULL;\n"
        "CREATE INDEX idx_customers_tier ON customers (company_id, loyalty_tier);\n"
        "ALTER TABLE customers ADD COLUMN broken INT AFTER no_such_column;\n",
        "ALTER TABLE customers DROP INDEX idx_customers_tier, DROP COLUMN loyalty_tier;\n",
    )
    with pytest.raises(MigrationFailed) as failure:
        runner_for(database, migrations_copy).migrate()
    assert failure.value.details["created_objects"] == ["column customers.loyalty_tier", "index customers.idx_customers_tier"]


def status_of(runner, name):
    return {s.migration: s.state for s in runner.status()}[name]


def test_configurable_migrations_table(database, runner_for, admin):
    runner_for(database, migrations_table="schema_history").migrate()
    assert len(recorded(admin, database, "schema_history")) == 6
    with admin.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
            "AND TABLE_NAME IN ('migrations', 'schema_history', 'schemagate_schema_history')",
            (database,),
        )
        assert sorted(r[0] for r in cur.fetchall()) == ["schema_history", "schemagate_schema_history"]
