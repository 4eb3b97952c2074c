"""The tables schemagate itself owns, named once.

They describe a run, not the application: application fingerprints, collation
checks, seeding and restores leave them out, and an application table that
happens to have one of these names is refused rather than mixed up with ours.
"""
from __future__ import annotations

from typing import Optional, Tuple

# The Laravel-compatible record of applied migrations (its name is configurable).
DEFAULT_MIGRATIONS_TABLE = "migrations"
# The other tools' own records, by their default names (migrate/history.py reads and writes them):
# golang-migrate and dbmate `schema_migrations`, goose `goose_db_version`, Flyway `flyway_schema_history`.
TOOL_TABLES = ("schema_migrations", "goose_db_version", "flyway_schema_history")
# Everything else schemagate keeps starts with this prefix.
PREFIX = "schemagate_"
# Marker of a scratch database: which run made it (only such databases are ever dropped).
MARKER_TABLE = PREFIX + "scratch"
# The deploy lock row, in the target database.
LOCK_TABLE = PREFIX + "deploy_lock"


def journal_table(migrations_table: str) -> str:
    """The runner's companion table: checksums and the journal of the migration in flight."""
    return PREFIX + migrations_table


def bookkeeping_tables(migrations_table: Optional[str] = DEFAULT_MIGRATIONS_TABLE) -> Tuple[str, ...]:
    """Every bookkeeping table in a database whose migrations table is ``migrations_table``.

    The migration tools' own tables (and schemagate's journal beside each) are
    included under their default names: they record runs, not the application.
    """
    migrations_table = migrations_table or DEFAULT_MIGRATIONS_TABLE  # '' (unset): the tool's default name
    names = [migrations_table, journal_table(migrations_table), MARKER_TABLE, LOCK_TABLE]
    for table in (DEFAULT_MIGRATIONS_TABLE,) + TOOL_TABLES:
        names += [table, journal_table(table)]
    return tuple(dict.fromkeys(names))


# The default set, for callers that do not know the migrations table's name.
BOOKKEEPING_TABLES = bookkeeping_tables()


def history_tables(migrations_table: Optional[str] = DEFAULT_MIGRATIONS_TABLE) -> Tuple[str, ...]:
    """The bookkeeping tables that record applied migrations (what a backup's manifest keeps the rows of)."""
    return tuple(name for name in bookkeeping_tables(migrations_table) if name not in (MARKER_TABLE, LOCK_TABLE))
