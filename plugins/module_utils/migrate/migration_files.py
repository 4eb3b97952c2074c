"""Load a migrations directory: one ``.up.sql`` and one ``.down.sql`` per change.

Files are named as the application names its migrations
(``2025_10_01_060100_create_notification_configurations_table.up.sql``) so the
names recorded in the Laravel-compatible ``migrations`` table match the app's.
Anything malformed is refused before a single statement runs.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Tuple

from ..core.errors import SchemagateError
from ..core.sql_script import Statement, split_statements

_NAME = re.compile(r"^(?P<version>\d{4}_\d{2}_\d{2}_\d{6})_(?P<slug>[a-z0-9_]+)$")
_FILE = re.compile(r"^(?P<name>.+)\.(?P<direction>up|down)\.sql$")
FORMAT_HINT = "name migrations YYYY_MM_DD_HHMMSS_snake_case_name.up.sql with a matching .down.sql"


@dataclass(frozen=True)
class Migration:
    name: str
    version: str
    up_path: str
    down_path: str
    up: Tuple[Statement, ...]
    down: Tuple[Statement, ...]
    checksum: str  # sha256 of the up file: an applied migration must not change

    def statements(self, direction: str) -> Tuple[Statement, ...]:
        return self.up if direction == "up" else self.down

    def path(self, direction: str) -> str:
        return self.up_path if direction == "up" else self.down_path


def file_checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_migrations(directory: str) -> List[Migration]:
    """All migrations of ``directory`` sorted by name; SchemagateError on any malformed file."""
    if not os.path.isdir(directory):
        raise SchemagateError(f"Migrations directory {directory!r} does not exist: set migrations_dir to the folder of .up.sql/.down.sql files.")
    pairs: Dict[str, Dict[str, str]] = {}
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if not entry.endswith(".sql") or not os.path.isfile(path):
            continue  # READMEs, expectation files and folders live beside migrations
        match = _FILE.match(entry)
        if not match or not _NAME.match(match.group("name")):
            raise SchemagateError(f"Misnamed migration file {path}: {FORMAT_HINT}.")
        pairs.setdefault(match.group("name"), {})[match.group("direction")] = path

    migrations: List[Migration] = []
    versions: Dict[str, str] = {}
    for name in sorted(pairs):
        files = pairs[name]
        for direction in ("up", "down"):
            if direction not in files:
                raise SchemagateError(
                    f"Migration {name} has no {direction} file: add {os.path.join(directory, name)}.{direction}.sql."
                )
        version = _NAME.match(name).group("version")  # type: ignore[union-attr]
        if version in versions:
            raise SchemagateError(
                f"Duplicate migration version {version}: {versions[version]} and {name}; give each change its own timestamp."
            )
        versions[version] = name
        up_bytes = _read(files["up"])
        up = tuple(split_statements(_decode(up_bytes, files["up"]), files["up"]))
        down = tuple(split_statements(_decode(_read(files["down"]), files["down"]), files["down"]))
        if not up:
            raise SchemagateError(f"Migration file {files['up']} has no SQL statement: write the change or delete the migration.")
        if not down:
            raise SchemagateError(
                f"Migration file {files['down']} has no SQL statement: write the statements that undo {name}."
            )
        migrations.append(Migration(name, version, files["up"], files["down"], up, down, file_checksum(up_bytes)))
    return migrations


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise SchemagateError(f"Cannot read migration file {path}: {exc.strerror}.") from None


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemagateError(f"Migration file {path} is not UTF-8 (byte {exc.start}): save it as UTF-8.") from None
