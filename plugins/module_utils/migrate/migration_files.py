"""Load a migrations directory in the team's own format (detected or declared).

The default, schemagate's own format, names files as a Laravel application
names its migrations (``2025_10_01_060100_create_notification_configurations_table.up.sql``
with a ``.down.sql``), so the names recorded in the ``migrations`` table match
the app's. golang-migrate, goose, dbmate and Flyway directories are read as
those tools read them (``formats.py``). Anything malformed is refused before a
single statement runs.
"""
from __future__ import annotations

from typing import List

from .formats import AUTO, HINTS, LARAVEL, detect_format, read_directory
from .migration import Direction, Migration, file_checksum

FORMAT_HINT = HINTS[LARAVEL]

__all__ = ["Direction", "Migration", "FORMAT_HINT", "detect_format", "file_checksum", "load_migrations"]


def load_migrations(directory: str, migration_format: str = AUTO) -> List[Migration]:
    """All migrations of ``directory`` in the order they run; SchemagateError on any malformed file."""
    return read_directory(directory, migration_format)
