"""The shipped migrations reproduce the reference structure, and every down undoes its up."""
from __future__ import annotations

import os
import shutil

from helpers import MIGRATIONS_DIR, load_structure

from plugins.module_utils.core.catalog import diff_tables, fingerprint, schema_fingerprint

PHASE_B = load_structure("phase_b_schema.yaml")
BASE = load_structure("base_schema.yaml")


def test_base_schema_sql_matches_reference(database, tables_of):
    assert diff_tables(BASE, tables_of(database)) == []


def test_phase_b_migrations_reproduce_reference_exactly(database, runner_for, tables_of):
    runner_for(database).migrate()
    actual = tables_of(database, only=PHASE_B)
    assert diff_tables(PHASE_B, actual) == []
    # Column order is part of the contract, not only the column set.
    for table, spec in PHASE_B.items():
        assert actual[table].column_names == spec.column_names, table


def test_diff_reports_a_wrong_on_delete_rule(database, runner_for, tables_of, admin):
    runner_for(database).migrate()
    with admin.cursor() as cur:
        cur.execute(f"ALTER TABLE `{database}`.callback_requests DROP FOREIGN KEY callback_requests_customer_id_foreign")
        cur.execute(
            f"ALTER TABLE `{database}`.callback_requests ADD CONSTRAINT callback_requests_customer_id_foreign "
            "FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE"
        )
    diff = diff_tables(PHASE_B, tables_of(database, only=PHASE_B))
    assert diff == [
        "table callback_requests: foreign key callback_requests_customer_id_foreign: "
        "on_delete is 'CASCADE', expected 'SET NULL'"
    ]


def test_up_down_up_gives_identical_schemas(database, runner_for, tables_of):
    before = fingerprint(tables_of(database))
    runner = runner_for(database)
    runner.migrate()
    first = tables_of(database)
    runner.rollback()
    assert fingerprint(tables_of(database)) == before
    runner.migrate()
    assert diff_tables(first, tables_of(database)) == []
    assert fingerprint(tables_of(database)) == fingerprint(first)


def test_each_down_removes_exactly_what_its_up_made(database, runner_for, tables_of, tmp_path):
    # Grow a migrations directory one file pair at a time, so each migrate applies exactly one.
    names = sorted({f.split(".")[0] for f in os.listdir(MIGRATIONS_DIR) if f.endswith(".sql")})
    assert len(names) == 6
    growing = tmp_path / "migrations"
    growing.mkdir()
    for name in names:
        for direction in ("up", "down"):
            shutil.copy(os.path.join(MIGRATIONS_DIR, f"{name}.{direction}.sql"), growing)
        runner = runner_for(database, str(growing))
        before = fingerprint(tables_of(database))
        assert runner.migrate().names == [name]
        after_up = tables_of(database)
        assert fingerprint(after_up) != before, f"{name} changed nothing"
        assert runner.rollback(steps=1).names == [name]
        assert fingerprint(tables_of(database)) == before, f"{name}.down.sql does not undo its up"
        runner.migrate()
        assert fingerprint(tables_of(database)) == fingerprint(after_up)


def test_a_comment_changed_by_a_migration_is_a_difference_and_a_new_fingerprint(database, runner_for, tables_of, admin, server, migrations_copy):
    runner_for(database).migrate()
    assert diff_tables(PHASE_B, tables_of(database, only=PHASE_B)) == []
    before = schema_fingerprint(admin, database, server)["fingerprint"]
    name = "2025_10_02_000000_reword_callback_status_comment"
    with open(os.path.join(migrations_copy, f"{name}.up.sql"), "w", encoding="utf-8") as handle:
        handle.write(
            "ALTER TABLE callback_requests MODIFY status ENUM('pending','assigned','contacted','completed','expired','cancelled') "
            "NOT NULL DEFAULT 'pending' COMMENT 'Lifecycle state of the callback';\n"
            "ALTER TABLE callback_escalations COMMENT = 'Escalations of overdue callbacks';\n"
        )
    with open(os.path.join(migrations_copy, f"{name}.down.sql"), "w", encoding="utf-8") as handle:
        handle.write(
            "ALTER TABLE callback_escalations COMMENT = '';\n"
            "ALTER TABLE callback_requests MODIFY status ENUM('pending','assigned','contacted','completed','expired','cancelled') "
            "NOT NULL DEFAULT 'pending' COMMENT 'Current status of callback request';\n"
        )
    runner = runner_for(database, migrations_copy)
    assert runner.migrate().names == [name]
    assert diff_tables(PHASE_B, tables_of(database, only=PHASE_B)) == [
        "table callback_escalations: comment is 'Escalations of overdue callbacks', expected none",
        "table callback_requests: column status: comment is 'Lifecycle state of the callback', expected 'Current status of callback request'",
    ]
    assert schema_fingerprint(admin, database, server)["fingerprint"] != before
    assert runner.rollback().names == [name]
    assert diff_tables(PHASE_B, tables_of(database, only=PHASE_B)) == []
    assert schema_fingerprint(admin, database, server)["fingerprint"] == before
