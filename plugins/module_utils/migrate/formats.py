"""Readers for the migration formats teams already write, detected from file names or declared.

- ``laravel`` (schemagate's own, the default): ``YYYY_MM_DD_HHMMSS_name.up.sql`` + ``.down.sql``;
- ``golang-migrate``: ``<version>_<name>.up.sql`` + ``.down.sql``, versions ordered as numbers;
- ``goose``: one ``<version>_<name>.sql`` with ``-- +goose Up`` / ``-- +goose Down`` sections,
  ``StatementBegin``/``StatementEnd`` blocks and ``NO TRANSACTION``;
- ``dbmate``: one ``<version>_<name>.sql`` with ``-- migrate:up`` / ``-- migrate:down`` sections;
- ``flyway``: ``V<version>__<description>.sql``, optional ``U<version>__...sql`` undo, dotted versions
  compared as integer tuples, repeatable ``R__<description>.sql`` (re-applied when its checksum changes).

A migration written without a down (golang-migrate without ``.down.sql``, goose
or dbmate without a down section, Flyway without ``U``, Laravel without
``.down.sql``) is allowed and marked irreversible. Empty and comment-only
migrations are allowed: they are recorded as applied and run nothing.
"""
from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..core.errors import SchemagateError
from ..core.sql_script import Statement, split_statements
from .migration import Migration, decode, inside, read_migration_file, text_checksum

LARAVEL = "laravel"
GOLANG_MIGRATE = "golang-migrate"
GOOSE = "goose"
DBMATE = "dbmate"
FLYWAY = "flyway"
FORMATS = (LARAVEL, GOLANG_MIGRATE, GOOSE, DBMATE, FLYWAY)
AUTO = "auto"

_LARAVEL_PAIR = re.compile(r"^(?P<name>(?P<version>\d{4}_\d{2}_\d{2}_\d{6})_[a-z0-9_]+)\.(?P<direction>up|down)\.sql$")
_NUMBERED_PAIR = re.compile(r"^(?P<name>(?P<version>\d+)_.+)\.(?P<direction>up|down)\.sql$")
_NUMBERED_FILE = re.compile(r"^(?P<name>(?P<version>\d+)_.*)\.sql$")
_DBMATE_FILE = re.compile(r"^(?P<name>(?P<version>\d+).*)\.sql$")  # dbmate: the leading digits, kept as text
_FLYWAY_PLACEHOLDER = re.compile(r"\$\{[A-Za-z0-9_.:-]+\}")
_FLYWAY_FILE = re.compile(r"^(?P<kind>[VU])(?P<version>\d+(?:[._]\d+)*)__(?P<description>.*)\.sql$|^R__(?P<repeatable>.+)\.sql$")
_GOOSE_MARK = re.compile(r"^--\s*\+goose\s+(?P<command>.+?)\s*$", re.IGNORECASE)
_DBMATE_MARK = re.compile(r"^--\s*migrate:(?P<section>up|down)\b(?P<options>.*)$")

HINTS = {
    LARAVEL: "name migrations YYYY_MM_DD_HHMMSS_snake_case_name.up.sql, with a matching .down.sql to make them reversible",
    GOLANG_MIGRATE: "name golang-migrate migrations <version>_<name>.up.sql (and .down.sql)",
    GOOSE: "name goose migrations <version>_<name>.sql, starting with a '-- +goose Up' line",
    DBMATE: "name dbmate migrations <version>_<name>.sql, with a '-- migrate:up' line",
    FLYWAY: "name Flyway migrations V<version>__<description>.sql (U<version>__... to undo, R__<description>.sql repeatable)",
}
_OTHER_FORMATS = "or set format (golang-migrate, goose, dbmate, flyway) for another tool's files"


@dataclass(frozen=True)
class SqlFile:
    path: str
    relative: str  # path inside the migrations directory, with '/' separators
    filename: str


def list_sql_files(directory: str, recursive: bool = False) -> List[SqlFile]:
    """The ``.sql`` files of ``directory`` (and its sub-directories when ``recursive``), sorted.

    Other files (READMEs, expectation files) live beside migrations and are
    ignored. A link leading out of the directory is refused, never followed.
    """
    if not os.path.isdir(directory):
        raise SchemagateError(
            f"Migrations directory {directory!r} does not exist: set migrations_dir to the folder of migration files."
        )
    found: List[SqlFile] = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        for entry in sorted(files):
            if not entry.endswith(".sql") or entry.startswith("."):
                continue
            path = os.path.join(root, entry)
            if not inside(directory, path):
                raise SchemagateError(
                    f"Migration file {path} is a symlink to a file outside the migrations directory: "
                    "copy the migration into the directory instead (links out are never followed)."
                )
            if not os.path.isfile(path):
                continue
            found.append(SqlFile(path, os.path.relpath(path, directory).replace(os.sep, "/"), entry))
    return found


def detect_format(directory: str) -> str:
    """The format of a migrations directory, from its file names (and goose/dbmate section markers)."""
    files = list_sql_files(directory, recursive=False)
    names = [f.filename for f in files]
    if not names:
        flyway_below = list_sql_files(directory, recursive=True)
        if any(_FLYWAY_FILE.match(f.filename) for f in flyway_below):
            return FLYWAY
        return LARAVEL
    if any(_LARAVEL_PAIR.match(n) for n in names):
        return LARAVEL
    if any(_NUMBERED_PAIR.match(n) for n in names):
        return GOLANG_MIGRATE
    if any(_FLYWAY_FILE.match(n) for n in names):
        return FLYWAY
    marked = {}
    for sql_file in files:
        if _NUMBERED_FILE.match(sql_file.filename):
            kind = _one_file_kind(decode(read_migration_file(directory, sql_file.path), sql_file.path))
            if kind:
                marked.setdefault(kind, sql_file.path)
    if len(marked) > 1:
        raise SchemagateError(
            f"Migrations directory {directory} mixes goose ({marked[GOOSE]}) and dbmate ({marked[DBMATE]}) files: "
            "keep one tool's migrations per directory, or set format."
        )
    if marked:
        return next(iter(marked))
    raise SchemagateError(f"Misnamed migration file {files[0].path}: {HINTS[LARAVEL]}, {_OTHER_FORMATS}.")


def _one_file_kind(text: str) -> Optional[str]:
    for line in text.splitlines():
        if _GOOSE_MARK.match(line.strip()):
            return GOOSE
        if _DBMATE_MARK.match(line.strip()):
            return DBMATE
    return None


def read_directory(directory: str, migration_format: str) -> List[Migration]:
    """Every migration of ``directory`` in ``migration_format``, in the order the tool runs them."""
    if migration_format == AUTO:
        migration_format = detect_format(directory)
    reader = _READERS.get(migration_format)
    if reader is None:
        raise SchemagateError(f"Unknown migration format {migration_format!r}: use one of auto, {', '.join(FORMATS)}.")
    migrations = reader(directory)
    return sorted(migrations, key=lambda m: m.sort_key)


def _misnamed(path: str, migration_format: str) -> SchemagateError:
    return SchemagateError(f"Misnamed migration file {path}: {HINTS[migration_format]}, {_OTHER_FORMATS}.")


def _split(text: str, path: str, first_line: int = 1) -> Tuple[Statement, ...]:
    return tuple(split_statements(text, path, first_line))


# ------------------------------------------------------------------ two-file formats
def _read_pairs(directory: str, pattern: "re.Pattern[str]", migration_format: str, numeric: bool) -> List[Migration]:
    pairs: Dict[str, Dict[str, str]] = {}
    raw_versions: Dict[str, str] = {}
    versions: Dict[str, str] = {}
    for sql_file in list_sql_files(directory):
        match = pattern.match(sql_file.filename)
        if not match:
            raise _misnamed(sql_file.path, migration_format)
        pairs.setdefault(match.group("name"), {})[match.group("direction")] = sql_file.path
        raw_versions[match.group("name")] = match.group("version")
    migrations = []
    for name in sorted(pairs):
        files = pairs[name]
        raw_version = raw_versions[name]
        version = str(int(raw_version)) if numeric else raw_version
        if version in versions:
            raise SchemagateError(
                f"Duplicate migration version {raw_version}: {versions[version]} and {name}; give each change its own version."
            )
        versions[version] = name
        if "up" not in files:
            raise SchemagateError(
                f"Migration {name} has a down file but no up file: add {os.path.join(directory, name)}.up.sql or delete the down."
            )
        up_bytes = read_migration_file(directory, files["up"])
        if numeric:
            for path in files.values():
                if os.path.getsize(path) == 0:
                    raise SchemagateError(
                        f"Migration file {path} is empty: golang-migrate itself fails on it (Error 1065 Query was empty); "
                        "write a comment in it (a comment-only migration is fine) or delete it."
                    )
        down = None
        if "down" in files:
            down = _split(decode(read_migration_file(directory, files["down"]), files["down"]), files["down"])
        migrations.append(
            Migration(
                name=name,
                version=version,
                up_path=files["up"],
                down_path=files.get("down"),
                up=_split(decode(up_bytes, files["up"]), files["up"]),
                down=down,
                checksum=text_checksum(up_bytes),
                sort_key=(int(version), name) if numeric else (name,),
                migration_format=migration_format,
                description=name.split("_", 1)[1] if numeric else name[18:],
            )
        )
    return migrations


def read_laravel(directory: str) -> List[Migration]:
    return _read_pairs(directory, _LARAVEL_PAIR, LARAVEL, numeric=False)


def read_golang_migrate(directory: str) -> List[Migration]:
    return _read_pairs(directory, _NUMBERED_PAIR, GOLANG_MIGRATE, numeric=True)


# ------------------------------------------------------------------ one-file formats
@dataclass
class _Section:
    start_line: int  # 1-based line of the first line of the section's body
    lines: List[str]


def _numbered_files(directory: str, migration_format: str) -> List[Tuple[SqlFile, str, str]]:
    seen: Dict[str, str] = {}
    out = []
    for sql_file in list_sql_files(directory):
        match = _NUMBERED_FILE.match(sql_file.filename)
        if not match:
            raise _misnamed(sql_file.path, migration_format)
        version = str(int(match.group("version")))
        if version == "0":
            raise SchemagateError(f"Migration file {sql_file.path} has version 0: goose versions start at 1 (0 is goose's own initial row).")
        if version in seen:
            raise SchemagateError(
                f"Duplicate migration version {match.group('version')}: {seen[version]} and {sql_file.filename}; "
                "give each change its own version."
            )
        seen[version] = sql_file.filename
        out.append((sql_file, match.group("name"), version))
    return out


def read_goose(directory: str) -> List[Migration]:
    migrations = []
    for sql_file, name, version in _numbered_files(directory, GOOSE):
        data = read_migration_file(directory, sql_file.path)
        up, down, up_text, transactional = _parse_goose(decode(data, sql_file.path), sql_file.path)
        migrations.append(
            Migration(
                name=name, version=version, up_path=sql_file.path, down_path=sql_file.path if down is not None else None,
                up=up, down=down, checksum=text_checksum(up_text.encode("utf-8")), sort_key=(int(version), name),
                migration_format=GOOSE, description=name.split("_", 1)[1] if "_" in name else name,
                transactional=transactional,
            )
        )
    return migrations


def _parse_goose(text: str, path: str) -> Tuple[Tuple[Statement, ...], Optional[Tuple[Statement, ...]], str, bool]:
    """Up and down statements of a goose file: its annotations decide, as goose's own parser does."""
    sections: Dict[str, List[Statement]] = {}
    section: Optional[str] = None
    in_block = False
    block: List[str] = []
    block_line = 0
    chunk: List[str] = []
    chunk_line = 0
    up_lines: List[str] = []
    transactional = True

    def flush_chunk() -> None:
        if section and any(line.strip() for line in chunk):
            sections[section].extend(split_statements("\n".join(chunk), path, chunk_line))
        chunk.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        mark = _GOOSE_MARK.match(line.strip())
        command = mark.group("command").upper() if mark else ""
        if mark and command in ("UP", "DOWN"):
            if in_block:
                raise SchemagateError(
                    f"{path}: line {number}: '-- +goose {command.title()}' inside a StatementBegin block: "
                    "close it with '-- +goose StatementEnd' first"
                )
            flush_chunk()
            section = command.lower()
            if section in sections:
                raise SchemagateError(f"{path}: line {number}: a second '-- +goose {command.title()}' section: keep one of each")
            sections[section] = []
            chunk_line = number + 1
            continue
        if mark and command == "NO TRANSACTION":
            transactional = False
            continue
        if mark and command.startswith("ENVSUB"):
            raise SchemagateError(
                f"{path}: line {number}: '-- +goose ENVSUB' substitutes environment variables at run time, "
                "which schemagate does not: write the values into the file"
            )
        if mark and command == "STATEMENTBEGIN":
            if section is None:
                raise SchemagateError(f"{path}: line {number}: StatementBegin before '-- +goose Up': start the file with '-- +goose Up'")
            flush_chunk()
            in_block, block, block_line = True, [], number + 1
            continue
        if mark and command == "STATEMENTEND":
            if not in_block:
                raise SchemagateError(f"{path}: line {number}: StatementEnd without StatementBegin: add '-- +goose StatementBegin' before the statement")
            body = "\n".join(block).strip()
            if body:
                statement = Statement(_strip_one_terminator(body), block_line + _leading_blank_lines(block))
                sections[section].append(statement)  # type: ignore[index]
            in_block = False
            chunk_line = number + 1
            continue
        if mark:
            raise SchemagateError(
                f"{path}: line {number}: unknown goose annotation '{line.strip()}': "
                "use Up, Down, StatementBegin, StatementEnd or NO TRANSACTION"
            )
        if section == "up":
            up_lines.append(line)
        if in_block:
            block.append(line)
        elif section is None:
            if line.strip() and not line.strip().startswith(("--", "#")):
                raise SchemagateError(f"{path}: line {number}: SQL before '-- +goose Up': start the file with '-- +goose Up'")
        else:
            if not chunk:
                chunk_line = number
            chunk.append(line)
    if in_block:
        raise SchemagateError(f"{path}: StatementBegin at line {block_line - 1} has no StatementEnd: add '-- +goose StatementEnd'")
    flush_chunk()
    if "up" not in sections:
        raise SchemagateError(f"{path}: no '-- +goose Up' annotation: goose migrations start with '-- +goose Up'")
    down = tuple(sections["down"]) if "down" in sections else None
    return tuple(sections["up"]), down, "\n".join(up_lines), transactional


def _strip_one_terminator(sql: str) -> str:
    return sql[:-1].rstrip() if sql.endswith(";") else sql


def _leading_blank_lines(lines: Sequence[str]) -> int:
    count = 0
    for line in lines:
        if line.strip():
            break
        count += 1
    return count


def read_dbmate(directory: str) -> List[Migration]:
    """dbmate's files: the version is the leading digits as text ('05' is not '5'); they run in file-name order."""
    migrations = []
    seen: Dict[str, str] = {}
    for sql_file in list_sql_files(directory):
        match = _DBMATE_FILE.match(sql_file.filename)
        if not match:
            raise _misnamed(sql_file.path, DBMATE)
        name, raw_version = match.group("name"), match.group("version")
        if raw_version in seen:
            raise SchemagateError(
                f"Duplicate migration version {raw_version}: {seen[raw_version]} and {sql_file.filename}; give each change its own version."
            )
        seen[raw_version] = sql_file.filename
        text = decode(read_migration_file(directory, sql_file.path), sql_file.path)
        up, down, up_text, transactional = _parse_dbmate(text, sql_file.path)
        migrations.append(
            Migration(
                name=name, version=raw_version, up_path=sql_file.path, down_path=sql_file.path if down is not None else None,
                up=up, down=down, checksum=text_checksum(up_text.encode("utf-8")), sort_key=(sql_file.filename,),
                migration_format=DBMATE, description=name.split("_", 1)[1] if "_" in name else name,
                transactional=transactional,
            )
        )
    return migrations


def _parse_dbmate(text: str, path: str) -> Tuple[Tuple[Statement, ...], Optional[Tuple[Statement, ...]], str, bool]:
    lines = text.splitlines()
    marks = [(i, _DBMATE_MARK.match(line.strip())) for i, line in enumerate(lines)]
    marks = [(i, m) for i, m in marks if m]
    if not marks or marks[0][1].group("section") != "up":
        raise SchemagateError(f"{path}: no '-- migrate:up' line before the SQL: dbmate migrations start with '-- migrate:up'")
    if len(marks) > 2 or (len(marks) == 2 and marks[1][1].group("section") != "down"):
        raise SchemagateError(f"{path}: line {marks[-1][0] + 1}: expected one '-- migrate:up' then one '-- migrate:down' section")
    preamble = [line for line in lines[: marks[0][0]] if line.strip() and not line.strip().startswith("--")]
    if preamble:
        raise SchemagateError(f"{path}: line 1: SQL before '-- migrate:up': move it into the up section")
    transactional = "transaction:false" not in marks[0][1].group("options").replace(" ", "")
    up_start = marks[0][0] + 1
    up_end = marks[1][0] if len(marks) == 2 else len(lines)
    up_text = "\n".join(lines[up_start:up_end])
    up = _split(up_text, path, up_start + 1)
    down = None
    if len(marks) == 2:
        down = _split("\n".join(lines[up_end + 1:]), path, up_end + 2)
    return up, down, up_text, transactional


# ------------------------------------------------------------------ Flyway
def flyway_checksum(data: bytes) -> int:
    """The checksum Flyway records: CRC32 over the UTF-8 bytes of each line, line breaks left out, BOM dropped.

    Flyway reads the script with ``BufferedReader.readLine()`` (which splits on
    ``\\n``, ``\\r\\n`` and ``\\r``) and stores the CRC as a signed 32-bit integer.
    """
    text = data.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    crc = 0
    for line in re.split(r"\r\n|\r|\n", text):  # a final empty piece adds nothing, as readLine() yields none
        crc = zlib.crc32(line.encode("utf-8"), crc)
    return crc - (1 << 32) if crc >= (1 << 31) else crc


def flyway_version_key(version: str) -> Tuple[int, ...]:
    """Flyway compares versions part by part as integers; trailing zero parts do not count (1.0 == 1)."""
    parts = [int(p) for p in re.split(r"[._]", version)]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _refuse_placeholders(text: str, path: str) -> str:
    match = _FLYWAY_PLACEHOLDER.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise SchemagateError(
            f"{path}: line {line}: Flyway placeholder {match.group(0)} (Flyway replaces it at run time; schemagate does not): "
            "write the value into the script."
        )
    return text


def read_flyway(directory: str) -> List[Migration]:
    versioned: Dict[Tuple[int, ...], SqlFile] = {}
    undos: Dict[Tuple[int, ...], SqlFile] = {}
    repeatables: Dict[str, SqlFile] = {}
    for sql_file in list_sql_files(directory, recursive=True):
        match = _FLYWAY_FILE.match(sql_file.filename)
        if not match:
            raise _misnamed(sql_file.path, FLYWAY)
        if match.group("repeatable") is not None:
            description = match.group("repeatable").replace("_", " ")
            if description in repeatables:
                raise SchemagateError(f"Duplicate repeatable migration {description!r}: {repeatables[description].path} and {sql_file.path}.")
            repeatables[description] = sql_file
            continue
        key = flyway_version_key(match.group("version"))
        table = versioned if match.group("kind") == "V" else undos
        if key in table:
            raise SchemagateError(
                f"Duplicate migration version {match.group('version')}: {table[key].path} and {sql_file.path}; "
                "give each change its own version."
            )
        table[key] = sql_file
    orphans = sorted(set(undos) - set(versioned))
    if orphans:
        raise SchemagateError(f"Undo migration {undos[orphans[0]].path} has no V migration of the same version: add it or delete the undo.")
    migrations = []
    for key, sql_file in versioned.items():
        match = _FLYWAY_FILE.match(sql_file.filename)
        version = match.group("version").replace("_", ".")  # type: ignore[union-attr]
        data = read_migration_file(directory, sql_file.path)
        undo = undos.get(key)
        down = down_description = None
        down_checksum = None
        if undo is not None:
            undo_data = read_migration_file(directory, undo.path)
            down = _split(_refuse_placeholders(decode(undo_data, undo.path), undo.path), undo.path)
            down_checksum = flyway_checksum(undo_data)
            down_description = _FLYWAY_FILE.match(undo.filename).group("description").replace("_", " ")  # type: ignore[union-attr]
        migrations.append(
            Migration(
                name=sql_file.filename[: -len(".sql")], version=version, up_path=sql_file.path,
                down_path=undo.path if undo else None, up=_split(_refuse_placeholders(decode(data, sql_file.path), sql_file.path), sql_file.path),
                down=down,
                checksum=text_checksum(data), sort_key=(0, key), migration_format=FLYWAY,
                description=match.group("description").replace("_", " "),  # type: ignore[union-attr]
                tool_checksum=flyway_checksum(data), script=sql_file.relative,
                down_script=undo.relative if undo else "", down_description=down_description or "",
                down_tool_checksum=down_checksum,
            )
        )
    for description, sql_file in repeatables.items():
        data = read_migration_file(directory, sql_file.path)
        migrations.append(
            Migration(
                name=sql_file.filename[: -len(".sql")], version="", up_path=sql_file.path, down_path=None,
                up=_split(_refuse_placeholders(decode(data, sql_file.path), sql_file.path), sql_file.path), down=None,
                checksum=text_checksum(data), sort_key=(1, (), description), migration_format=FLYWAY, description=description, repeatable=True,
                tool_checksum=flyway_checksum(data), script=sql_file.relative,
            )
        )
    return migrations


def version_key(migration_format: str, version: str) -> Tuple:
    """A version as the format orders it (a baseline compares with it)."""
    version = version.strip()
    if migration_format == FLYWAY:
        if not re.match(r"^\d+(?:[._]\d+)*$", version):
            raise SchemagateError(f"Baseline version {version!r} is not a Flyway version: write it as 1, 1.2 or 1_2.")
        return flyway_version_key(version)
    if migration_format == LARAVEL:
        match = re.match(r"^(\d{4}_\d{2}_\d{2}_\d{6})", version)
        if not match:
            raise SchemagateError(f"Baseline version {version!r} is not a migration timestamp: write it as YYYY_MM_DD_HHMMSS.")
        return (match.group(1),)
    if not version.isdigit():
        raise SchemagateError(f"Baseline version {version!r} is not a {migration_format} version: write the number.")
    return (int(version),)


_READERS: Dict[str, Callable[[str], List[Migration]]] = {
    LARAVEL: read_laravel,
    GOLANG_MIGRATE: read_golang_migrate,
    GOOSE: read_goose,
    DBMATE: read_dbmate,
    FLYWAY: read_flyway,
}
