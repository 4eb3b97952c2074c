"""Each migration tool's own record of what ran, read and written as that tool does.

A database already managed by a tool is picked up exactly (its rows say what
is applied), and after schemagate has migrated it the tool itself agrees:

- Laravel: ``migrations(id, migration, batch)``, one row per applied migration;
- golang-migrate: ``schema_migrations(version, dirty)``, ONE row, the current version; ``dirty``
  means a migration stopped halfway, and blocks until someone fixes it (``migrate force``);
- goose: ``goose_db_version(id, version_id, is_applied, tstamp)``, a row per applied version (and
  goose's initial version-0 row); a rollback deletes the version's row, as goose v3 does;
- dbmate: ``schema_migrations(version)``, one row per applied version;
- Flyway: ``flyway_schema_history``, a row per run with installed_rank, Flyway's CRC32 checksum
  and success; a failed row (success = 0) blocks until ``flyway repair``; an undo adds an
  ``UNDO_SQL`` row; repeatables are re-applied when their checksum changes; a ``BASELINE`` row
  marks every version up to it as applied.

schemagate's own journal (checksums, the migration in flight) lives beside the
tool's table in ``schemagate_<table>``. An application table that happens to
have the tool table's name but not its columns is refused, never written to.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..core.connection import quote_identifier
from ..core.errors import SchemagateError
from .formats import DBMATE, FLYWAY, GOLANG_MIGRATE, GOOSE, LARAVEL, flyway_version_key
from .migration import Migration

DEFAULT_TABLES = {
    LARAVEL: "migrations",
    GOLANG_MIGRATE: "schema_migrations",
    GOOSE: "goose_db_version",
    DBMATE: "schema_migrations",
    FLYWAY: "flyway_schema_history",
}
# Flyway's own markers in flyway_schema_history.
FLYWAY_BASELINE = "<< Flyway Baseline >>"


@dataclass
class Recorded:
    """One migration the tool's table records as applied."""

    name: str  # the migration's name, or the recorded version when no file has it
    batch: Optional[int] = None  # Laravel's batch (other tools have none)
    has_file: bool = True
    tool_checksum: Optional[int] = None  # Flyway: the checksum it recorded


@dataclass
class Stuck:
    """A migration the tool's table says stopped halfway (golang-migrate dirty, Flyway success = 0)."""

    name: str
    detail: str
    fix: str


class ToolHistory:
    """The common shape: ``columns`` must exist for the table to be the tool's."""

    tool = LARAVEL
    columns: Tuple[str, ...] = ()
    option_hint = "migrations_table"

    def __init__(self, conn: Any, database: str, table: str, migrations: Sequence[Migration]) -> None:
        self.conn = conn
        self.database = database
        self.table = table
        self.quoted = quote_identifier(table, "migrations_table")
        self.migrations = list(migrations)
        self.by_version = {m.version: m for m in migrations if not m.repeatable}

    # ---------------------------------------------------------------- shape
    def exists(self) -> bool:
        return bool(self._columns())

    def _columns(self) -> List[str]:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
                "ORDER BY ORDINAL_POSITION",
                (self.database, self.table),
            )
            return [str(row[0]) for row in cur.fetchall()]

    def check_shape(self) -> bool:
        """True when the table exists and is the tool's; refuse an application table of the same name."""
        found = self._columns()
        if not found:
            return False
        missing = [c for c in self.columns if c not in {f.lower() for f in found}]
        if missing:
            raise SchemagateError(
                f"Table {self.table!r} in {self.database} is not {self.tool}'s bookkeeping table (it has columns "
                f"{', '.join(found)}; {self.tool}'s has {', '.join(self.columns)}): it looks like an application table, "
                f"so schemagate will not write to it; set {self.option_hint} to the table your migrations are recorded in."
            )
        return True

    def create_statements(self) -> List[str]:
        raise NotImplementedError

    def ensure(self) -> None:
        if self.check_shape():
            return
        with self.conn.cursor() as cur:
            for sql in self.create_statements():
                cur.execute(sql)

    # ---------------------------------------------------------------- reading
    def applied(self) -> List[Recorded]:
        raise NotImplementedError

    def stuck(self) -> List[Stuck]:
        return []

    # ---------------------------------------------------------------- writing (inside the caller's transaction)
    def begin_up(self, cur: Any, migration: Migration) -> None:
        """Before the first statement (golang-migrate marks the version dirty first)."""

    def finish_up(self, cur: Any, migration: Migration, batch: Optional[int], duration_ms: float) -> None:
        raise NotImplementedError

    def fail_up(self, cur: Any, migration: Migration, changed: bool, duration_ms: float) -> None:
        """The up failed; ``changed``: it had changed something (a real partial), so the tool must know."""

    def begin_down(self, cur: Any, migration: Migration) -> None:
        """Before the first statement of a down."""

    def finish_down(self, cur: Any, migration: Migration, was_applied: bool, duration_ms: float) -> None:
        raise NotImplementedError

    def fail_down(self, cur: Any, migration: Migration, changed: bool) -> None:
        """The down failed."""

    def baseline(self, cur: Any, upto: Sequence[Migration], version: str) -> None:
        for migration in upto:
            self.finish_up(cur, migration, 1, 0.0)

    def row_count(self) -> int:
        if not self.exists():
            return 0
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {self.quoted}")
            return int(cur.fetchone()[0])

    # ---------------------------------------------------------------- helpers
    def _previous(self, migration: Migration) -> Optional[Migration]:
        earlier = [m for m in self.migrations if not m.repeatable and m.sort_key < migration.sort_key]
        return earlier[-1] if earlier else None


class LaravelHistory(ToolHistory):
    tool = LARAVEL
    columns = ("id", "migration", "batch")

    def create_statements(self) -> List[str]:
        # Exactly what Laravel's Migrations\DatabaseMigrationRepository::createRepository() makes on MySQL.
        return [
            f"CREATE TABLE IF NOT EXISTS {self.quoted} ("
            "id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
            "migration VARCHAR(255) NOT NULL, batch INT NOT NULL"
            ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
        ]

    def applied(self) -> List[Recorded]:
        if not self.check_shape():
            return []
        names = {m.name for m in self.migrations}
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT migration, batch FROM {self.quoted} ORDER BY batch, migration")
            return [Recorded(str(n), int(b), str(n) in names) for n, b in cur.fetchall()]

    def finish_up(self, cur: Any, migration: Migration, batch: Optional[int], duration_ms: float) -> None:
        cur.execute(f"INSERT INTO {self.quoted} (migration, batch) VALUES (%s, %s)", (migration.name, batch or 1))

    def finish_down(self, cur: Any, migration: Migration, was_applied: bool, duration_ms: float) -> None:
        cur.execute(f"DELETE FROM {self.quoted} WHERE migration = %s", (migration.name,))


class GolangMigrateHistory(ToolHistory):
    tool = GOLANG_MIGRATE
    columns = ("version", "dirty")

    def create_statements(self) -> List[str]:
        # golang-migrate's database/mysql ensureVersionTable().
        return [f"CREATE TABLE IF NOT EXISTS {self.quoted} (version bigint not null primary key, dirty boolean not null)"]

    def _current(self) -> Optional[Tuple[int, bool]]:
        if not self.check_shape():
            return None
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT version, dirty FROM {self.quoted} LIMIT 1")
            row = cur.fetchone()
        return (int(row[0]), bool(row[1])) if row else None

    def applied(self) -> List[Recorded]:
        current = self._current()
        if current is None or current[0] < 0:
            return []
        version, dirty = current
        # golang-migrate is linear: every version up to the current one is applied (the current one only when clean).
        out = [Recorded(m.name) for m in self.migrations if int(m.version) < version or (int(m.version) == version and not dirty)]
        if not dirty and str(version) not in self.by_version:
            out.append(Recorded(str(version), has_file=False))
        return out

    def stuck(self) -> List[Stuck]:
        current = self._current()
        if current is None or not current[1]:
            return []
        version = current[0]
        migration = self.by_version.get(str(version))
        return [Stuck(
            migration.name if migration else str(version),
            f"{self.table} says version {version} is dirty: a run stopped halfway through it",
            f"undo what it half-applied, then clear the flag with `migrate force {version}` (kept) or "
            f"`migrate force <previous version>` (undone), as golang-migrate requires",
        )]

    def _set(self, cur: Any, version: Optional[int], dirty: bool) -> None:
        # golang-migrate's SetVersion: the table holds one row, replaced in one transaction.
        cur.execute(f"DELETE FROM {self.quoted}")
        if version is not None:
            cur.execute(f"INSERT INTO {self.quoted} (version, dirty) VALUES (%s, %s)", (version, int(dirty)))

    def _prev_version(self, migration: Migration) -> Optional[int]:
        previous = self._previous(migration)
        return int(previous.version) if previous else None

    def begin_up(self, cur: Any, migration: Migration) -> None:
        self._set(cur, int(migration.version), True)

    def finish_up(self, cur: Any, migration: Migration, batch: Optional[int], duration_ms: float) -> None:
        self._set(cur, int(migration.version), False)

    def fail_up(self, cur: Any, migration: Migration, changed: bool, duration_ms: float) -> None:
        if not changed:  # nothing happened: back to the clean previous version
            self._set(cur, self._prev_version(migration), False)

    def begin_down(self, cur: Any, migration: Migration) -> None:
        previous = self._prev_version(migration)
        self._set(cur, previous if previous is not None else -1, True)

    def finish_down(self, cur: Any, migration: Migration, was_applied: bool, duration_ms: float) -> None:
        self._set(cur, self._prev_version(migration), False)

    def fail_down(self, cur: Any, migration: Migration, changed: bool) -> None:
        if not changed:
            self._set(cur, int(migration.version), False)

    def baseline(self, cur: Any, upto: Sequence[Migration], version: str) -> None:
        self._set(cur, int(version), False)  # what `migrate force <version>` writes


class GooseHistory(ToolHistory):
    tool = GOOSE
    columns = ("id", "version_id", "is_applied", "tstamp")

    def create_statements(self) -> List[str]:
        # goose's MySQL dialect CreateTable(), then the initial version-0 row goose inserts.
        return [
            f"CREATE TABLE {self.quoted} (id serial NOT NULL, version_id bigint NOT NULL, is_applied boolean NOT NULL, "
            "tstamp timestamp NULL default now(), PRIMARY KEY(id))",
            f"INSERT INTO {self.quoted} (version_id, is_applied) VALUES (0, true)",
        ]

    def applied(self) -> List[Recorded]:
        if not self.check_shape():
            return []
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT version_id, is_applied FROM {self.quoted} ORDER BY id DESC")
            rows = cur.fetchall()
        seen: Set[int] = set()
        out = []
        for version_id, is_applied in rows:  # the newest row of each version decides, as in goose
            version = int(version_id)
            if version in seen or version == 0:
                continue
            seen.add(version)
            if is_applied:
                migration = self.by_version.get(str(version))
                out.append(Recorded(migration.name if migration else str(version), has_file=migration is not None))
        return out

    def finish_up(self, cur: Any, migration: Migration, batch: Optional[int], duration_ms: float) -> None:
        cur.execute(f"INSERT INTO {self.quoted} (version_id, is_applied) VALUES (%s, true)", (int(migration.version),))

    def finish_down(self, cur: Any, migration: Migration, was_applied: bool, duration_ms: float) -> None:
        cur.execute(f"DELETE FROM {self.quoted} WHERE version_id = %s", (int(migration.version),))


class DbmateHistory(ToolHistory):
    tool = DBMATE
    columns = ("version",)

    def check_shape(self) -> bool:
        found = self._columns()
        if found and [c.lower() for c in found] != ["version"]:
            raise SchemagateError(
                f"Table {self.table!r} in {self.database} is not dbmate's bookkeeping table (it has columns "
                f"{', '.join(found)}; dbmate's has only version): it looks like an application table (or golang-migrate's), "
                f"so schemagate will not write to it; set {self.option_hint} to the table your migrations are recorded in."
            )
        return bool(found)

    def create_statements(self) -> List[str]:
        # dbmate's MySQL driver CreateMigrationsTable().
        return [f"CREATE TABLE IF NOT EXISTS {self.quoted} (version varchar(128) primary key)"]

    def applied(self) -> List[Recorded]:
        if not self.check_shape():
            return []
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT version FROM {self.quoted} ORDER BY version")
            versions = [str(row[0]) for row in cur.fetchall()]
        out = []
        for version in versions:
            migration = self.by_version.get(version)
            out.append(Recorded(migration.name if migration else version, has_file=migration is not None))
        return out

    def finish_up(self, cur: Any, migration: Migration, batch: Optional[int], duration_ms: float) -> None:
        cur.execute(f"INSERT INTO {self.quoted} (version) VALUES (%s)", (migration.version,))

    def finish_down(self, cur: Any, migration: Migration, was_applied: bool, duration_ms: float) -> None:
        cur.execute(f"DELETE FROM {self.quoted} WHERE version = %s", (migration.version,))


class FlywayHistory(ToolHistory):
    tool = FLYWAY
    columns = ("installed_rank", "version", "description", "type", "script", "checksum", "installed_by",
               "installed_on", "execution_time", "success")

    def create_statements(self) -> List[str]:
        # Flyway's MySQL createMetaDataTable.sql.
        return [
            f"CREATE TABLE {self.quoted} ("
            "`installed_rank` INT NOT NULL, `version` VARCHAR(50), `description` VARCHAR(200) NOT NULL, "
            "`type` VARCHAR(20) NOT NULL, `script` VARCHAR(1000) NOT NULL, `checksum` INT, "
            "`installed_by` VARCHAR(100) NOT NULL, `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, "
            "`execution_time` INT NOT NULL, `success` BOOL NOT NULL, "
            f"CONSTRAINT {quote_identifier(self.table + '_pk', 'constraint name')} PRIMARY KEY (`installed_rank`)"
            ") ENGINE=InnoDB",
            f"CREATE INDEX {quote_identifier(self.table + '_s_idx', 'index name')} ON {self.quoted} (`success`)",
        ]

    def _rows(self) -> List[Tuple[Any, ...]]:
        if not self.check_shape():
            return []
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT installed_rank, version, description, type, script, checksum, success FROM {self.quoted} "
                "ORDER BY installed_rank"
            )
            return list(cur.fetchall())

    def applied(self) -> List[Recorded]:
        versions: Dict[Tuple[int, ...], Tuple[str, Any, bool]] = {}  # key -> (version, checksum, applied)
        baseline: Optional[Tuple[int, ...]] = None
        repeatables: Dict[str, Any] = {}
        for _rank, version, description, kind, _script, checksum, success in self._rows():
            if not success:
                continue
            if kind == "BASELINE" and version:
                baseline = flyway_version_key(str(version))
            elif version is None:
                if kind in ("SQL", "JDBC"):
                    repeatables[str(description)] = checksum  # Flyway keys repeatables by description
            elif kind.startswith("UNDO"):
                versions[flyway_version_key(str(version))] = (str(version), checksum, False)
            elif kind != "SCHEMA":
                versions[flyway_version_key(str(version))] = (str(version), checksum, True)
        by_key = {flyway_version_key(m.version): m for m in self.migrations if not m.repeatable}
        out = []
        if baseline is not None:
            for key, migration in sorted(by_key.items()):
                if key <= baseline and key not in versions:
                    out.append(Recorded(migration.name, tool_checksum=None))
        for key, (version, checksum, is_applied) in sorted(versions.items()):
            if not is_applied:
                continue
            migration = by_key.get(key)
            out.append(Recorded(migration.name if migration else version, has_file=migration is not None,
                                tool_checksum=None if checksum is None else int(checksum)))
        described = {m.description: m for m in self.migrations if m.repeatable}
        for description, checksum in repeatables.items():
            migration = described.get(description)
            if migration is not None:  # a repeatable counts as applied while its recorded checksum is its file's
                if checksum is not None and int(checksum) == migration.tool_checksum:
                    out.append(Recorded(migration.name, tool_checksum=int(checksum)))
        return out

    def stuck(self) -> List[Stuck]:
        out = []
        by_key = {flyway_version_key(m.version): m for m in self.migrations if not m.repeatable}
        latest: Dict[str, Tuple[Any, ...]] = {}
        for row in self._rows():
            latest[str(row[1]) if row[1] is not None else "R:" + str(row[4])] = row
        for row in latest.values():
            _rank, version, _description, _kind, script, _checksum, success = row
            if success:
                continue
            migration = by_key.get(flyway_version_key(str(version))) if version else None
            out.append(Stuck(
                migration.name if migration else str(script),
                f"{self.table} records a failed migration to version {version} ({script})",
                "remove what it half-applied, then run `flyway repair` (it deletes the failed row)",
            ))
        return out

    def _insert(self, cur: Any, version: Optional[str], description: str, kind: str, script: str,
                checksum: Optional[int], duration_ms: float, success: bool) -> None:
        cur.execute(f"SELECT COALESCE(MAX(installed_rank), 0) + 1 FROM {self.quoted} FOR UPDATE")
        rank = int(cur.fetchone()[0])
        cur.execute(
            f"INSERT INTO {self.quoted} (installed_rank, version, description, type, script, checksum, installed_by, "
            "execution_time, success) VALUES (%s, %s, %s, %s, %s, %s, SUBSTRING_INDEX(USER(), '@', 1), %s, %s)",
            (rank, version, description[:200], kind, script, checksum, int(round(duration_ms)), int(success)),
        )

    def _delete_failed(self, cur: Any, migration: Migration) -> None:
        cur.execute(f"DELETE FROM {self.quoted} WHERE script = %s AND success = 0", (migration.script,))

    def finish_up(self, cur: Any, migration: Migration, batch: Optional[int], duration_ms: float) -> None:
        self._delete_failed(cur, migration)  # schemagate's own failed row, now superseded (what `repair` would do)
        self._insert(cur, migration.version or None, migration.description, "SQL", migration.script,
                     migration.tool_checksum, duration_ms, True)

    def fail_up(self, cur: Any, migration: Migration, changed: bool, duration_ms: float) -> None:
        self._delete_failed(cur, migration)
        if changed:  # as Flyway does on MySQL, where DDL cannot be rolled back: flyway itself now refuses to go on
            self._insert(cur, migration.version or None, migration.description, "SQL", migration.script,
                         migration.tool_checksum, duration_ms, False)

    def finish_down(self, cur: Any, migration: Migration, was_applied: bool, duration_ms: float) -> None:
        self._delete_failed(cur, migration)
        if was_applied:  # Flyway's undo: an UNDO_SQL row for the version; the version is pending again
            self._insert(cur, migration.version, migration.down_description or migration.description, "UNDO_SQL",
                         migration.down_script, migration.down_tool_checksum, duration_ms, True)

    def baseline(self, cur: Any, upto: Sequence[Migration], version: str) -> None:
        self._insert(cur, version, FLYWAY_BASELINE, "BASELINE", FLYWAY_BASELINE, None, 0.0, True)


_ADAPTERS = {
    LARAVEL: LaravelHistory,
    GOLANG_MIGRATE: GolangMigrateHistory,
    GOOSE: GooseHistory,
    DBMATE: DbmateHistory,
    FLYWAY: FlywayHistory,
}


def history_for(tool: str, conn: Any, database: str, table: str, migrations: Iterable[Migration]) -> ToolHistory:
    try:
        adapter = _ADAPTERS[tool]
    except KeyError:
        raise SchemagateError(f"Unknown history {tool!r}: use auto or one of {', '.join(_ADAPTERS)}.") from None
    return adapter(conn, database, table, list(migrations))
