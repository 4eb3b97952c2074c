"""Each format's corpus set (tests/corpus/<format>/): applied, rolled back, re-applied, identical fingerprints.

The tool's own bookkeeping table is checked after each step: it says what the tool itself would say.
"""
from __future__ import annotations

import os

import pytest

from helpers import REPO, create_database, drop_database
from plugins.module_utils.core.catalog import schema_fingerprint
from plugins.module_utils.migrate.formats import FORMATS, detect_format
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.runner import APPLIED, PENDING, MigrationRunner, RunnerSettings

CORPUS = os.path.join(REPO, "tests", "corpus")


def rows(admin, database, sql):
    with admin.cursor() as cur:
        cur.execute(sql.format(db=f"`{database}`"))
        return [tuple(r) for r in cur.fetchall()]


def tool_record(admin, database, migration_format):
    """What the tool's own table says, in the tool's terms."""
    if migration_format == "laravel":
        return rows(admin, database, "SELECT migration, batch FROM {db}.migrations ORDER BY id")
    if migration_format == "golang-migrate":
        return rows(admin, database, "SELECT version, dirty FROM {db}.schema_migrations")
    if migration_format == "goose":
        return rows(admin, database, "SELECT version_id, is_applied FROM {db}.goose_db_version ORDER BY id")
    if migration_format == "dbmate":
        return rows(admin, database, "SELECT version FROM {db}.schema_migrations ORDER BY version")
    return rows(admin, database, "SELECT installed_rank, version, type, checksum, success FROM {db}.flyway_schema_history "
                                 "ORDER BY installed_rank")


@pytest.fixture
def empty_database(admin):
    name = create_database(admin, with_base_tables=False)
    yield name
    drop_database(admin, name)


@pytest.mark.parametrize("migration_format", FORMATS)
def test_corpus_applies_rolls_back_and_reapplies_with_identical_fingerprints(
    migration_format, empty_database, admin, server, connection_to
):
    directory = os.path.join(CORPUS, migration_format)
    assert detect_format(directory) == migration_format
    migrations = load_migrations(directory)
    assert len(migrations) == 8 and all(m.reversible for m in migrations)
    runner = MigrationRunner(connection_to(empty_database), RunnerSettings(database=empty_database), migrations)
    assert runner.settings.tool == migration_format  # history: auto follows the format

    def fingerprint():
        return schema_fingerprint(admin, empty_database, server)["fingerprint"]

    empty = fingerprint()
    first = runner.migrate()
    assert first.names == [m.name for m in migrations]
    assert {s.state for s in runner.status()} == {APPLIED}
    applied = fingerprint()
    structure = schema_fingerprint(admin, empty_database, server)["structure"]
    assert set(structure["tables"]) == {"publishers", "books", "reviews"}
    assert "procedure publisher_book_count" in structure["routines"] and "reviews_clamp_rating" in structure["triggers"]
    books = structure["tables"]["books"]
    assert [c["name"] for c in books["columns"]] == ["id", "publisher_id", "title", "isbn", "price"]
    assert {i["name"] for i in books["indexes"]} >= {"idx_books_title", "uq_books_isbn"}
    assert "SET NULL" in str(books["foreign_keys"])
    record = tool_record(admin, empty_database, migration_format)
    expected_after_up = {
        "laravel": lambda: [(m.name, 1) for m in migrations],
        "golang-migrate": lambda: [(12, 0)],
        "goose": lambda: [(0, 1)] + [(int(m.version), 1) for m in migrations],
        "dbmate": lambda: [(m.version,) for m in migrations],
        "flyway": lambda: [(i + 1, m.version, "SQL", m.tool_checksum, 1) for i, m in enumerate(migrations)],
    }[migration_format]()
    assert record == expected_after_up

    undone = runner.rollback(steps=len(migrations))
    assert undone.names == [m.name for m in reversed(migrations)]
    assert fingerprint() == empty
    assert {s.state for s in runner.status()} == {PENDING}
    after_down = tool_record(admin, empty_database, migration_format)
    if migration_format == "flyway":  # Flyway's undo appends UNDO_SQL rows; nothing is deleted
        assert [r[2] for r in after_down] == ["SQL"] * 8 + ["UNDO_SQL"] * 8
    else:
        assert after_down == {"goose": [(0, 1)]}.get(migration_format, [])

    assert runner.migrate().names == [m.name for m in migrations]
    assert fingerprint() == applied
    assert not runner.migrate().changed
