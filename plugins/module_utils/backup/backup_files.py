"""Backup files: their names, manifests, sha256 and retention.

A backup is two files in the backup directory, both 0600: ``<database>-<label>.sql.gz`` (the dump)
and ``<database>-<label>.manifest.json`` (what the dump must contain: per-table row counts and row
checksums, the migrations tables' rows, the schema fingerprint, the file's sha256, and whether a
restore proved all of it). Manifests are written atomically; a manifest always has its dump.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import tempfile
from decimal import Decimal
from typing import Any, Dict, List, Sequence, Tuple

from ..core.connection import validate_identifier
from ..core.errors import SchemagateError


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


def load_manifest(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except OSError as exc:
        raise SchemagateError(f"Cannot read backup manifest {path}: {exc.strerror or exc}.") from None
    except ValueError:
        raise SchemagateError(f"Backup manifest {path} is not valid JSON: restore it from a copy or take a new backup.") from None
    missing = [key for key in ("format", "database", "label", "file", "sha256", "tables", "schema") if key not in manifest]
    if not isinstance(manifest, dict) or missing:
        raise SchemagateError(f"Backup manifest {path} is incomplete (missing {', '.join(missing) or 'everything'}): it was not written by schemagate.")
    return manifest


def dump_file_of(manifest_path: str, manifest: Dict[str, Any]) -> str:
    """The dump file next to its manifest (the manifest stores the base name, so a backup directory can move)."""
    return os.path.join(os.path.dirname(os.path.abspath(manifest_path)), os.path.basename(manifest["file"]))


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


def check_backup_file(manifest_path: str, manifest: Dict[str, Any]) -> str:
    """The dump file's path, once its sha256 is the manifest's; raise naming the mismatch otherwise."""
    path = dump_file_of(manifest_path, manifest)
    if not os.path.isfile(path):
        raise SchemagateError(f"Backup file {path} is missing: the manifest {manifest_path} has no dump to restore.")
    actual = file_sha256(path)
    if actual != manifest["sha256"]:
        raise SchemagateError(
            f"Backup file {path} is corrupt: its sha256 is {actual}, the manifest says {manifest['sha256']} (sha256 mismatch); "
            "use another backup."
        )
    return path


def list_backups(backup_dir: str, database: str) -> List[Dict[str, Any]]:
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
        if manifest["database"] != database or manifest["label"] != match.group(1):
            continue
        found.append({
            "label": manifest["label"],
            "manifest_file": path,
            "backup_file": dump_file_of(path, manifest),
            "verified": manifest.get("verified") is True,
            "finished_utc": manifest.get("finished_utc") or "",
        })
    found.sort(key=lambda item: (item["finished_utc"], item["label"]), reverse=True)
    return found


def latest_verified_manifest(backup_dir: str, database: str) -> str:
    for backup in list_backups(backup_dir, database):
        if backup["verified"]:
            return backup["manifest_file"]
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
        if not backup["verified"]:
            unverified.append(backup["manifest_file"])
        elif len(kept) < keep or os.path.abspath(backup["manifest_file"]) in protected:
            kept.append(backup["manifest_file"])
        else:
            remove_file(backup["backup_file"])
            remove_file(backup["manifest_file"])
            deleted.append(backup["manifest_file"])
    if deleted:
        fsync_directory(backup_dir)
    return {"kept": kept, "deleted": deleted, "unverified": unverified}


def summary(manifest: Dict[str, Any]) -> Dict[str, Any]:
    """The manifest without the (large) schema structure, for module results."""
    short = {key: value for key, value in manifest.items() if key != "schema"}
    short["schema_fingerprint"] = manifest.get("schema", {}).get("fingerprint")
    short["total_rows"] = sum(table["rows"] for table in manifest.get("tables", {}).values())
    return short
