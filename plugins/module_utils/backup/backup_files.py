"""Backup files: their names, manifests, sha256 and retention.

A backup is two files in the backup directory, both 0600: ``<database>-<label>.sql.gz`` (the dump)
and ``<database>-<label>.manifest.json`` (what the dump must contain: per-table row counts and row
checksums, the migrations tables' rows, the schema fingerprint, the file's sha256, and whether a
restore proved all of it). Manifests are written atomically; a manifest always has its dump.
In Python a manifest is a ``Manifest`` (``to_dict``/``from_dict`` give the JSON file's keys exactly),
its state a ``BackupState``.
"""
from __future__ import annotations

import datetime
import enum
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..core.compression import READ_ERRORS, open_gzip
from ..core.connection import validate_identifier
from ..core.errors import SchemagateError
from ..core.schema_model import Schema, describe_type


MANIFEST_FORMAT = 1
_LABEL = re.compile(r"^[A-Za-z0-9_]{1,40}$")
_READ_CHUNK = 4 << 20


def default_label() -> str:
    """A UTC timestamp such as 20261124T130500Z: sorts in time order and is a valid name part."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def validate_label(label: str) -> str:
    if not isinstance(label, str) or not _LABEL.match(label):
        raise SchemagateError(f"Invalid backup label {label!r}: use 1-40 letters, digits or '_' (it names files and a scratch database).")
    return label


def backup_paths(backup_dir: str, database: str, label: str) -> Tuple[str, str]:
    """(dump file, manifest file) of one backup."""
    validate_identifier(database, "database name")
    validate_label(label)
    return (
        os.path.join(backup_dir, f"{database}-{label}.sql.gz"),
        os.path.join(backup_dir, f"{database}-{label}.manifest.json"),
    )


class BackupState(enum.Enum):
    """Whether a restore proved the backup holds what its manifest says (the manifest's ``verified``)."""

    VERIFIED = "verified"  # restored into a scratch database and found identical: the only kind restore accepts
    UNVERIFIED = "unverified"  # not verified yet, or verification failed: kept for inspection, never pruned


@dataclass(frozen=True)
class TableFigures:
    """What the manifest promises about one table: its exact row count and its CHECKSUM TABLE."""

    rows: int
    checksum: Optional[int]  # None when the server could not checksum the table

    def to_dict(self) -> Dict[str, Any]:
        return {"rows": self.rows, "checksum": self.checksum}


@dataclass(frozen=True)
class RecordedServer:
    """The server the backup was taken on (its CHECKSUM TABLE values are comparable on the same version only)."""

    flavor: Optional[str] = None
    version: Optional[str] = None
    label: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {"flavor": self.flavor, "version": self.version, "label": self.label}


@dataclass(frozen=True)
class RecordedSchema:
    """The schema of the backed-up database: its fingerprint, the same without the database's own name
    in view/trigger/routine bodies (``portable``: comparable with a restore under another name), and its structure."""

    fingerprint: Optional[str] = None
    portable_fingerprint: Optional[str] = None
    structure: Optional[Schema] = None

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {}
        if self.fingerprint is not None:
            data["fingerprint"] = self.fingerprint
        if self.portable_fingerprint is not None:
            data["portable_fingerprint"] = self.portable_fingerprint
        if self.structure is not None:
            data["structure"] = self.structure.to_dict()
        return data


# The keys of a manifest in the order take_backup writes them; the JSON file keeps this order.
_MANIFEST_KEYS = (
    "format", "database", "label", "server", "dump_tool", "dump_options", "compress_level", "compressor", "started_utc",
    "finished_utc", "seconds", "file", "size_bytes", "sha256", "estimate_bytes", "consistency", "dump_warnings", "migrations",
    "generated_fk_indexes",
    "tables", "schema", "verified", "verification",
)
_REQUIRED_KEYS = ("format", "database", "label", "file", "sha256", "tables", "schema")


@dataclass(frozen=True)
class Manifest:  # pylint: disable=too-many-instance-attributes  # one attribute per key of the file
    """A backup's manifest. Only the keys every schemagate manifest has are required; the others are what
    ``take_backup`` records about the dump (tool, options, timing, warnings) and the last verification's outcome."""

    format: int
    database: str
    label: str
    file: str  # the dump's base name, next to the manifest
    sha256: str
    tables: Dict[str, TableFigures]
    schema: RecordedSchema
    state: BackupState = BackupState.UNVERIFIED
    verification: Optional[Dict[str, Any]] = None  # the last verification's outcome (scratch database, mismatches, timings)
    server: Optional[RecordedServer] = None
    dump_tool: Optional[Dict[str, Any]] = None
    dump_options: Optional[List[str]] = None
    compress_level: Optional[int] = None
    compressor: Optional[str] = None
    started_utc: Optional[str] = None
    finished_utc: Optional[str] = None
    seconds: Optional[float] = None
    size_bytes: Optional[int] = None
    estimate_bytes: Optional[int] = None
    consistency: Optional[Dict[str, Any]] = None
    dump_warnings: Optional[List[str]] = None
    migrations: Optional[Dict[str, List[Dict[str, Any]]]] = None  # the rows of the migrations tables
    # table -> indexes the server generated for a foreign key (the restore leaves them to the server again);
    # None when they could not be told apart (the restore then judges from the dump's names)
    generated_fk_indexes: Optional[Dict[str, List[str]]] = None
    other: Dict[str, Any] = field(default_factory=dict)  # keys this version does not know, kept as they are

    @property
    def verified(self) -> bool:
        return self.state is BackupState.VERIFIED

    @property
    def server_version(self) -> Optional[str]:
        return self.server.version if self.server is not None else None

    @property
    def total_rows(self) -> int:
        return sum(figures.rows for figures in self.tables.values())

    def to_dict(self) -> Dict[str, Any]:
        values = {
            "format": self.format, "database": self.database, "label": self.label,
            "server": self.server.to_dict() if self.server is not None else None,
            "dump_tool": self.dump_tool, "dump_options": self.dump_options, "compress_level": self.compress_level,
            "compressor": self.compressor, "started_utc": self.started_utc, "finished_utc": self.finished_utc,
            "seconds": self.seconds, "file": self.file, "size_bytes": self.size_bytes, "sha256": self.sha256,
            "estimate_bytes": self.estimate_bytes, "consistency": self.consistency, "dump_warnings": self.dump_warnings,
            "migrations": self.migrations, "generated_fk_indexes": self.generated_fk_indexes,
            "tables": {name: figures.to_dict() for name, figures in self.tables.items()},
            "schema": self.schema.to_dict(), "verified": self.verified, "verification": self.verification,
        }
        return {**{key: values[key] for key in _MANIFEST_KEYS}, **self.other}

    @classmethod
    def from_dict(cls, data: Any, source: str = "manifest") -> "Manifest":
        """Validate a manifest read from its JSON file; SchemagateError names ``source`` and the key."""
        if not isinstance(data, dict):
            raise SchemagateError(f"Backup manifest {source} is incomplete (missing everything): it was not written by schemagate.")
        missing = [key for key in _REQUIRED_KEYS if key not in data]
        if missing:
            raise SchemagateError(f"Backup manifest {source} is incomplete (missing {', '.join(missing)}): it was not written by schemagate.")
        check = _ManifestCheck(data, source)
        verified = data.get("verified", False)
        if not isinstance(verified, bool):
            raise check.bad("verified", "true or false")
        return cls(
            format=check.typed("format", int),
            database=check.typed("database", str),
            label=check.typed("label", str),
            file=check.typed("file", str),
            sha256=check.typed("sha256", str),
            tables=check.tables(),
            schema=check.schema(),
            state=BackupState.VERIFIED if verified else BackupState.UNVERIFIED,
            verification=check.optional("verification", dict),
            server=check.server(),
            dump_tool=check.optional("dump_tool", dict),
            dump_options=check.optional("dump_options", list),
            compress_level=check.optional("compress_level", int),
            compressor=check.optional("compressor", str),
            started_utc=check.optional("started_utc", str),
            finished_utc=check.optional("finished_utc", str),
            seconds=check.optional("seconds", (int, float)),
            size_bytes=check.optional("size_bytes", int),
            estimate_bytes=check.optional("estimate_bytes", int),
            consistency=check.optional("consistency", dict),
            dump_warnings=check.optional("dump_warnings", list),
            migrations=check.optional("migrations", dict),
            generated_fk_indexes=check.optional("generated_fk_indexes", dict),
            other={key: value for key, value in data.items() if key not in _MANIFEST_KEYS},
        )


_WANTED = {str: "a string", dict: "a mapping", list: "a list"}


class _ManifestCheck:
    """The keys of a manifest's JSON, read with their types checked."""

    def __init__(self, data: Dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source

    def bad(self, key: str, wanted: str) -> SchemagateError:
        return SchemagateError(
            f"Backup manifest {self.source}: {key} must be {wanted}, found {describe_type(self.data.get(key))}: "
            "it was not written by schemagate, or was edited; use another backup."
        )

    def typed(self, key: str, kind: Any) -> Any:
        value = self.data[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.bad(key, _WANTED.get(kind, "a number"))
        return value

    def optional(self, key: str, kind: Any) -> Any:
        return None if self.data.get(key) is None else self.typed(key, kind)

    def tables(self) -> Dict[str, TableFigures]:
        tables = self.typed("tables", dict)
        figures = {}
        for name, value in tables.items():
            rows, checksum = (value.get("rows"), value.get("checksum")) if isinstance(value, dict) else (None, None)
            if not isinstance(rows, int) or isinstance(rows, bool) or not (checksum is None or isinstance(checksum, int)):
                raise self.bad(f"tables.{name}", "{rows: <count>, checksum: <number or null>}")
            figures[name] = TableFigures(rows=rows, checksum=checksum)
        return figures

    def schema(self) -> RecordedSchema:
        schema = self.typed("schema", dict)
        for key in ("fingerprint", "portable_fingerprint"):
            if schema.get(key) is not None and not isinstance(schema[key], str):
                raise self.bad(f"schema.{key}", "a string")
        structure = schema.get("structure")
        return RecordedSchema(
            fingerprint=schema.get("fingerprint"),
            portable_fingerprint=schema.get("portable_fingerprint"),
            structure=None if structure is None else Schema.from_dict(structure, f"Backup manifest {self.source}: schema.structure"),
        )

    def server(self) -> Optional[RecordedServer]:
        server = self.optional("server", dict)
        if server is None:
            return None
        if not all(server.get(key) is None or isinstance(server[key], str) for key in ("flavor", "version", "label")):
            raise self.bad("server", "{flavor, version, label} (strings)")
        return RecordedServer(flavor=server.get("flavor"), version=server.get("version"), label=server.get("label"))


def load_manifest(path: str) -> Manifest:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise SchemagateError(f"Cannot read backup manifest {path}: {exc.strerror or exc}.") from None
    except ValueError:
        raise SchemagateError(f"Backup manifest {path} is not valid JSON: restore it from a copy or take a new backup.") from None
    return Manifest.from_dict(data, path)


def write_manifest(path: str, manifest: Manifest) -> None:
    """Write a manifest atomically, mode 0600."""
    write_private_json(path, manifest.to_dict())


def dump_file_of(manifest_path: str, manifest: Manifest) -> str:
    """The dump file next to its manifest (the manifest stores the base name, so a backup directory can move)."""
    return os.path.join(os.path.dirname(os.path.abspath(manifest_path)), os.path.basename(manifest.file))


def write_private_json(path: str, data: Dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600 (a reader never sees half a manifest)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".manifest-", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, default=json_value)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        remove_file(temporary)
        raise
    fsync_directory(directory)


def json_value(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


def remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a directory; the files themselves are synced
    finally:
        os.close(fd)


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_READ_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


_HEADER_BYTES = 16384
_HEADER_DATABASE = re.compile(r"^-- Host: (.*?)\s+Database: (.+?)\s*$", re.MULTILINE)
_HEADER_SERVER = re.compile(r"^-- Server version\s+(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class DumpHeader:
    """What the dump tool wrote about the dump in its first lines."""

    host: str
    database: str
    server_version: Optional[str]


def dump_header(path: str) -> DumpHeader:
    """The ``-- Host: ... Database: ...`` and ``-- Server version`` lines of a gzip dump; raise if there are none."""
    try:
        with open_gzip(path) as source:
            head = source.read(_HEADER_BYTES).decode("utf-8", "replace")
    except READ_ERRORS as exc:
        raise SchemagateError(f"Backup file {path} cannot be read as gzip ({type(exc).__name__}): use another backup.") from None
    found = _HEADER_DATABASE.search(head)
    if not found:
        raise SchemagateError(
            f"Backup file {path} does not start with the dump tool's '-- Host: ... Database: ...' header: "
            "it is not a dump schemagate took; use another backup."
        )
    server = _HEADER_SERVER.search(head)
    return DumpHeader(host=found.group(1), database=found.group(2), server_version=server.group(1) if server else None)


def authenticate_dump(manifest_path: str, manifest: Manifest, path: str) -> DumpHeader:
    """Refuse, in one line, a manifest that disagrees with the dump it describes (its database or its server)."""
    header = dump_header(path)
    if header.database != manifest.database:
        raise SchemagateError(
            f"Manifest {manifest_path} says database {manifest.database!r}, but its dump {os.path.basename(path)} is a dump of "
            f"{header.database!r} (its header): the manifest does not describe this dump; refusing it."
        )
    recorded = manifest.server.version if manifest.server else None
    if recorded and header.server_version and header.server_version != recorded:
        raise SchemagateError(
            f"Manifest {manifest_path} says server {recorded!r}, but its dump {os.path.basename(path)} was taken on "
            f"{header.server_version!r} (its header): the manifest does not describe this dump; refusing it."
        )
    return header


def check_backup_file(manifest_path: str, manifest: Manifest) -> str:
    """The dump file's path, once its sha256 is the manifest's and its own header agrees with the manifest."""
    path = dump_file_of(manifest_path, manifest)
    if not os.path.isfile(path):
        raise SchemagateError(f"Backup file {path} is missing: the manifest {manifest_path} has no dump to restore.")
    actual = file_sha256(path)
    if actual != manifest.sha256:
        raise SchemagateError(
            f"Backup file {path} is corrupt: its sha256 is {actual}, the manifest says {manifest.sha256} (sha256 mismatch); "
            "use another backup."
        )
    authenticate_dump(manifest_path, manifest, path)
    return path


@dataclass(frozen=True)
class BackupOnDisk:
    """One backup found in a backup directory."""

    label: str
    manifest_file: str
    backup_file: str
    state: BackupState
    finished_utc: str


def list_backups(backup_dir: str, database: str) -> List[BackupOnDisk]:
    """The backups of ``database`` in ``backup_dir`` (files named by schemagate with a readable manifest), newest first."""
    validate_identifier(database, "database name")
    pattern = re.compile(rf"^{re.escape(database)}-([A-Za-z0-9_]{{1,40}})\.manifest\.json$")
    found = []
    try:
        names = os.listdir(backup_dir)
    except FileNotFoundError:
        return []
    for name in names:
        match = pattern.match(name)
        if not match:
            continue
        path = os.path.join(backup_dir, name)
        try:
            manifest = load_manifest(path)
        except SchemagateError:
            continue  # not ours, or damaged: never touched
        if manifest.database != database or manifest.label != match.group(1):
            continue
        found.append(BackupOnDisk(
            label=manifest.label,
            manifest_file=path,
            backup_file=dump_file_of(path, manifest),
            state=manifest.state,
            finished_utc=manifest.finished_utc or "",
        ))
    found.sort(key=lambda backup: (backup.finished_utc, backup.label), reverse=True)
    return found


def latest_verified_manifest(backup_dir: str, database: str) -> str:
    for backup in list_backups(backup_dir, database):
        if backup.state is BackupState.VERIFIED:
            return backup.manifest_file
    raise SchemagateError(f"No verified backup of {database!r} in {backup_dir}: take one (schemagate.mysql.backup) or name a manifest.")


def prune_backups(backup_dir: str, database: str, keep: int, protect: Sequence[str] = ()) -> Dict[str, List[str]]:
    """Keep the newest ``keep`` verified backups of ``database``; delete older verified ones.

    Unverified backups (verification failed or not run) are never deleted; they are listed so an
    operator can look at them. Backups named in ``protect`` (manifest paths) are never deleted.
    """
    if keep < 1:
        raise SchemagateError(f"keep must be at least 1, got {keep}: the newest verified backup is always kept.")
    protected = {os.path.abspath(path) for path in protect}
    kept: List[str] = []
    deleted: List[str] = []
    unverified: List[str] = []
    for backup in list_backups(backup_dir, database):
        if backup.state is BackupState.UNVERIFIED:
            unverified.append(backup.manifest_file)
        elif len(kept) < keep or os.path.abspath(backup.manifest_file) in protected:
            kept.append(backup.manifest_file)
        else:
            remove_file(backup.backup_file)
            remove_file(backup.manifest_file)
            deleted.append(backup.manifest_file)
    if deleted:
        fsync_directory(backup_dir)
    return {"kept": kept, "deleted": deleted, "unverified": unverified}


def summary(manifest: Manifest) -> Dict[str, Any]:
    """The manifest without the (large) schema structure, for module results."""
    short = {key: value for key, value in manifest.to_dict().items() if key != "schema"}
    short["schema_fingerprint"] = manifest.schema.fingerprint
    short["total_rows"] = manifest.total_rows
    return short
