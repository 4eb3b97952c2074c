"""The tables schemagate itself owns, named once.

They describe a run, not the application: application fingerprints, collation
checks, seeding and restores leave them out, and an application table that
happens to have one of these names is refused rather than mixed up with ours.
"""
from __future__ import annotations

from typing import Tuple

# The Laravel-compatible record of applied migrations (its name is configurable).
DEFAULT_MIGRATIONS_TABLE = "migrations"
# Everything else schemagate keeps starts with this prefix.
PREFIX = "schemagate_"
# Marker of a scratch database: which run made it (only such databases are ever dropped).
MARKER_TABLE = PREFIX + "scratch"
# The deploy lock row, in the target database.
LOCK_TABLE = PREFIX + "deploy_lock"


def journal_table(migrations_table: str) -> str:
    """The runner's companion table: checksums and the journal of the migration in flight."""
    return PREFIX + migrations_table


def bookkeeping_tables(migrations_table: str = DEFAULT_MIGRATIONS_TABLE) -> Tuple[str, ...]:
    """Every table schemagate owns in a database whose migrations table is ``migrations_table``."""
    return (migrations_table, journal_table(migrations_table), MARKER_TABLE, LOCK_TABLE)


# The default set, for callers that do not know the migrations table's name.
BOOKKEEPING_TABLES = bookkeeping_tables()
