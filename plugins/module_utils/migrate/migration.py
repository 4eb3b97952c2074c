"""One migration, whatever format it was written in, and the directions it runs in.

The per-format readers (``formats.py``) turn a team's files into these; the
runner and the history adapters only ever see this shape.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from enum import Enum
from typing import Optional, Tuple

from ..core.errors import SchemagateError
from ..core.sql_script import Statement


class Direction(str, Enum):
    """Which way a migration runs. A str subclass: returned data keeps the plain values ``up``/``down``."""

    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class Migration:
    name: str  # unique within the set: what schemagate's journal (and Laravel's table) records
    version: str  # the version as the format's own tool records it ("" for a Flyway repeatable)
    up_path: str
    down_path: Optional[str]  # None: written without a down
    up: Tuple[Statement, ...]
    down: Optional[Tuple[Statement, ...]]  # None: irreversible (no down); () an empty down that undoes nothing
    checksum: str  # sha256 of the up text: an applied migration must not change
    sort_key: Tuple = ()
    migration_format: str = "laravel"
    description: str = ""
    repeatable: bool = False  # Flyway R__: re-applied whenever its checksum changes, never undone
    transactional: bool = True  # informational: MySQL DDL commits implicitly whatever the tool asks
    tool_checksum: Optional[int] = None  # Flyway's CRC32 of the up script, as flyway_schema_history records it
    script: str = ""  # the up script as the tool records it (Flyway's `script` column)
    down_script: str = ""
    down_description: str = ""
    down_tool_checksum: Optional[int] = None
    up_line_offset: int = 0  # where the up section starts in its file (single-file formats)

    @property
    def reversible(self) -> bool:
        return self.down is not None

    def statements(self, direction: Direction) -> Tuple[Statement, ...]:
        if direction == Direction.UP:
            return self.up
        if self.down is None:
            raise SchemagateError(f"Cannot roll back {self.name}: no down: only a restore undoes it.")
        return self.down

    def path(self, direction: Direction) -> str:
        return self.up_path if direction == Direction.UP else (self.down_path or self.up_path)


def text_checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Kept under its old name: callers hash whole files with it.
file_checksum = text_checksum


def inside(directory: str, path: str) -> bool:
    """Whether ``path`` (symlinks resolved) lies inside ``directory`` (symlinks resolved)."""
    root = os.path.realpath(directory)
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def read_migration_file(directory: str, path: str) -> bytes:
    """The bytes of a migration file that really lives in ``directory``.

    A symlink leading out of the migrations directory is refused before it is
    opened: its target (an option file, a key) must never be read as SQL and end
    up echoed into a failure report.
    """
    if not inside(directory, path):
        raise SchemagateError(
            f"Migration file {path} is a symlink to a file outside the migrations directory: "
            "copy the migration into the directory instead (links out are never followed)."
        )
    if not os.path.isfile(path):
        raise SchemagateError(f"Migration file {path} is not a regular file: replace it with the migration's SQL file.")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise SchemagateError(f"Cannot read migration file {path}: {exc.strerror}.") from None


def decode(data: bytes, path: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemagateError(f"Migration file {path} is not UTF-8 (byte {exc.start}): save it as UTF-8.") from None
    return text[1:] if text.startswith("\ufeff") else text  # a BOM is not SQL
