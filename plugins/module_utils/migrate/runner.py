"""The migration runner: Laravel's migrate / migrate --step / migrate:rollback, in SQL.

Applied migrations are recorded in a Laravel-compatible table (``id``,
``migration``, ``batch``) so the application and schemagate agree about what
ran. A second table, ``schemagate_<table>``, keeps what Laravel cannot: the
checksum of each applied up file and a journal of the migration in flight, so a
run that dies half-way is reported as *partial* instead of applied or pending.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from ..core.connection import MySQLError, error_code, error_text, quote_identifier, validate_identifier
from ..core.errors import SchemagateError
from ..core.sql_script import Statement
from .locks import advisory_lock, describe_open_transactions
from .migration_files import Migration

APPLIED = "applied"
PENDING = "pending"
PARTIAL = "partial"
MISSING_FILE = "missing_file"

_LOCK_WAIT_TIMEOUT = 1205  # also raised when a metadata lock is not granted in lock_wait_timeout


@dataclass(frozen=True)
class RunnerSettings:
    database: str
    migrations_table: str = "migrations"
    lock_timeout: int = 60  # seconds to wait for another run's deploy lock
    ddl_lock_wait_timeout: int = 5  # seconds a DDL statement may wait for a metadata lock

    def __post_init__(self) -> None:
        validate_identifier(self.database, "database name")
        validate_identifier(self.migrations_table, "migrations_table")
        validate_identifier(self.journal_table, "journal table name")
        if self.lock_timeout < 0 or self.ddl_lock_wait_timeout < 1:
            raise SchemagateError("lock_timeout must be >= 0 and ddl_lock_wait_timeout >= 1 (seconds).")

    @property
    def journal_table(self) -> str:
        return f"schemagate_{self.migrations_table}"

    @property
    def bookkeeping_tables(self) -> Tuple[str, str]:
        """Tables the runner owns: left out when comparing application schemas."""
        return (self.migrations_table, self.journal_table)


@dataclass
class MigrationStatus:
    migration: str
    state: str  # applied | pending | partial | missing_file
    batch: Optional[int] = None
    checksum: str = "unknown"  # ok | changed | unknown (applied outside schemagate)
    detail: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return {
            "migration": self.migration,
            "state": self.state,
            "batch": self.batch,
            "checksum": self.checksum,
            "detail": self.detail,
        }


@dataclass
class MigrationRun:
    migration: str
    direction: str  # up | down
    batch: Optional[int]
    statements: List[str] = field(default_factory=list)
    duration_ms: float = 0.0

    def as_dict(self) -> Dict[str, Any]:
        return {
            "migration": self.migration,
            "direction": self.direction,
            "batch": self.batch,
            "statements": list(self.statements),
            "duration_ms": round(self.duration_ms, 1),
        }


@dataclass
class RunResult:
    changed: bool
    runs: List[MigrationRun]
    pretend: bool = False

    @property
    def names(self) -> List[str]:
        return [run.migration for run in self.runs]


class MigrationFailed(SchemagateError):
    """A statement failed; details name the migration, the statement and what it had created."""


class MigrationRunner:
    def __init__(self, conn: Any, settings: RunnerSettings, migrations: Sequence[Migration]) -> None:
        self.conn = conn
        self.settings = settings
        self.migrations = {m.name: m for m in migrations}
        self._table = quote_identifier(settings.migrations_table)
        self._journal = quote_identifier(settings.journal_table)

    # ------------------------------------------------------------------ status
    def status(self) -> List[MigrationStatus]:
        """Every known migration, applied ones in Laravel's order (batch, name), then pending."""
        applied = self._applied_rows()
        journal = self._journal_rows()
        rows: List[MigrationStatus] = []
        for name, batch in applied:
            migration = self.migrations.get(name)
            entry = MigrationStatus(name, APPLIED if migration else MISSING_FILE, batch)
            recorded = journal.get(name)
            if migration and recorded and recorded["checksum"]:
                entry.checksum = "ok" if recorded["checksum"] == migration.checksum else "changed"
            if migration is None:
                entry.detail = "recorded as applied but no file in the migrations directory"
            elif recorded and recorded["state"] not in (APPLIED,):
                entry.state = PARTIAL
                entry.detail = _journal_detail(recorded)
            rows.append(entry)
        done = {row[0] for row in applied}
        for name in sorted(set(self.migrations) | set(journal)):
            if name in done:
                continue
            recorded = journal.get(name)
            if recorded:
                rows.append(MigrationStatus(name, PARTIAL, recorded["batch"], detail=_journal_detail(recorded)))
            else:
                rows.append(MigrationStatus(name, PENDING))
        return rows

    def pending(self) -> List[Migration]:
        applied = {row[0] for row in self._applied_rows()}
        return [self.migrations[name] for name in sorted(self.migrations) if name not in applied]

    # ----------------------------------------------------------------- migrate
    def migrate(self, step: bool = False, pretend: bool = False) -> RunResult:
        """Apply every pending migration: one batch, or one batch each with ``step``."""
        if pretend:
            self._refuse_changed_files()
            next_batch = self._last_batch() + 1
            runs = [
                MigrationRun(m.name, "up", next_batch + (i if step else 0), [s.sql for s in m.up])
                for i, m in enumerate(self.pending())
            ]
            return RunResult(bool(runs), runs, pretend=True)
        with advisory_lock(self.conn, self.settings.database, self.settings.lock_timeout):
            self._prepare_session()
            self._ensure_tables()
            self._refuse_changed_files()
            pending = self.pending()
            batch = self._last_batch() + 1
            runs: List[MigrationRun] = []
            for migration in pending:
                runs.append(self._run(migration, "up", batch, runs))
                if step:
                    batch += 1
            return RunResult(bool(runs), runs)

    # ---------------------------------------------------------------- rollback
    def rollback(self, steps: Optional[int] = None, pretend: bool = False) -> RunResult:
        """Undo the last batch, or the last ``steps`` migrations (Laravel's --step=N)."""
        if steps is not None and steps < 1:
            raise SchemagateError("steps must be a positive number of migrations to roll back.")
        if pretend:
            targets = self._rollback_targets(steps)
            runs = [MigrationRun(m.name, "down", b, [s.sql for s in m.down]) for m, b in targets]
            return RunResult(bool(runs), runs, pretend=True)
        with advisory_lock(self.conn, self.settings.database, self.settings.lock_timeout):
            self._prepare_session()
            self._ensure_tables()
            runs: List[MigrationRun] = []
            for migration, batch in self._rollback_targets(steps):
                runs.append(self._run(migration, "down", batch, runs))
            return RunResult(bool(runs), runs)

    def _rollback_targets(self, steps: Optional[int]) -> List[Tuple[Migration, Optional[int]]]:
        # A migration that died half-way is undone first: its down removes what it left behind.
        applied_names = {row[0] for row in self._applied_rows()}
        partial = [
            (name, row["batch"]) for name, row in sorted(self._journal_rows().items(), reverse=True)
            if name not in applied_names and row["state"] != APPLIED
        ]
        ordered = sorted(self._applied_rows(), key=lambda r: (r[1], r[0]), reverse=True)
        if steps is None:
            last = ordered[0][1] if ordered else None
            chosen = partial + [(n, b) for n, b in ordered if b == last]
        else:
            chosen = (partial + ordered)[:steps]
        targets = []
        for name, batch in chosen:
            migration = self.migrations.get(name)
            if migration is None:
                raise SchemagateError(
                    f"Cannot roll back {name}: it is recorded as applied but its .down.sql is not in the "
                    "migrations directory; restore the file (or a verified backup)."
                )
            targets.append((migration, batch))
        return targets

    # --------------------------------------------------------------- internals
    def _run(self, migration: Migration, direction: str, batch: Optional[int], done: List[MigrationRun]) -> MigrationRun:
        statements = migration.statements(direction)
        run = MigrationRun(migration.name, direction, batch)
        self._journal_start(migration, direction, batch, len(statements))
        before = self._objects()
        started = time.monotonic()
        for index, statement in enumerate(statements, start=1):
            try:
                with self.conn.cursor() as cur:
                    cur.execute(statement.sql)
                    while cur.nextset():
                        pass
            except MySQLError as exc:
                self._journal_failed(migration.name, direction)
                raise self._failure(migration, direction, statement, index, len(statements), exc, before, done) from None
            run.statements.append(statement.sql)
            self._journal_progress(migration.name, index)
        run.duration_ms = (time.monotonic() - started) * 1000
        self._journal_finish(migration, direction, batch, run.duration_ms)
        return run

    def _failure(
        self,
        migration: Migration,
        direction: str,
        statement: Statement,
        index: int,
        total: int,
        exc: BaseException,
        before: Set[str],
        done: List[MigrationRun],
    ) -> MigrationFailed:
        cause = error_text(exc)
        try:
            after = self._objects()
        except MySQLError:  # the connection died with the statement: the journal keeps the truth
            after = None
        created = _collapse(after - before) if after is not None else []
        removed = _collapse(before - after) if after is not None else []
        if error_code(exc) == _LOCK_WAIT_TIMEOUT:
            blockers = describe_open_transactions(self.conn)
            cause += (
                f" after lock_wait_timeout={self.settings.ddl_lock_wait_timeout}s; blocked by: "
                + ("; ".join(blockers) if blockers else "no open transaction found (a long query or LOCK TABLES?)")
            )
        verb = "created" if direction == "up" else "removed"
        left = created if direction == "up" else removed
        effect = (
            f"statements 1-{index - 1} had {verb}: {', '.join(left) if left else 'nothing'}"
            if after is not None
            else f"the connection was lost, so what statements 1-{index - 1} {verb} is unknown here: run status once the server is back"
        )
        message = (
            f"Migration {migration.name} ({direction}) failed at statement {index} of {total} "
            f"({migration.path(direction)} line {statement.line}): {cause}. "
            f"It is not recorded as {'applied' if direction == 'up' else 'rolled back'}; {effect}."
        )
        return MigrationFailed(
            message,
            {
                "failed_migration": migration.name,
                "direction": direction,
                "failed_statement_index": index,
                "failed_statement": statement.sql,
                "statements_total": total,
                "error": cause,
                "created_objects": created,
                "removed_objects": removed,
                "completed": [run.as_dict() for run in done],
            },
        )

    def _objects(self) -> Set[str]:
        """Tables, columns, indexes and foreign keys of the database, as 'kind name' strings."""
        found: Set[str] = set()
        db = self.settings.database
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (db,)
            )
            found.update(f"{'view' if kind == 'VIEW' else 'table'} {name}" for name, kind in cur.fetchall())
            cur.execute(
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s", (db,)
            )
            found.update(f"column {t}.{c}" for t, c in cur.fetchall())
            cur.execute(
                "SELECT DISTINCT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s",
                (db,),
            )
            found.update(f"index {t}.{i}" for t, i in cur.fetchall())
            cur.execute(
                "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
                "WHERE CONSTRAINT_SCHEMA = %s",
                (db,),
            )
            found.update(f"foreign key {t}.{c}" for t, c in cur.fetchall())
        tracking = set(self.settings.bookkeeping_tables)
        return {o for o in found if o.split(" ", 2)[-1].split(".")[0] not in tracking}

    def _prepare_session(self) -> None:
        with self.conn.cursor() as cur:
            # A DDL statement queued behind a long transaction blocks every later query on the
            # table: fail fast instead and let the operator decide.
            cur.execute("SET SESSION lock_wait_timeout = %s", (self.settings.ddl_lock_wait_timeout,))

    def _ensure_tables(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} ("
                "id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
                "migration VARCHAR(255) NOT NULL, batch INT NOT NULL"
                ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self._journal} ("
                "migration VARCHAR(255) NOT NULL PRIMARY KEY, "
                "checksum CHAR(64) NULL, "
                "state VARCHAR(16) NOT NULL, "
                "direction VARCHAR(4) NULL, "
                "batch INT NULL, "
                "statements_done INT NOT NULL DEFAULT 0, "
                "statements_total INT NOT NULL DEFAULT 0, "
                "started_at TIMESTAMP(6) NULL, "
                "finished_at TIMESTAMP(6) NULL, "
                "duration_ms DECIMAL(12,1) NULL"
                ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
            )

    def _table_exists(self, name: str) -> bool:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (self.settings.database, name),
            )
            return cur.fetchone() is not None

    def _applied_rows(self) -> List[Tuple[str, int]]:
        if not self._table_exists(self.settings.migrations_table):
            return []
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT migration, batch FROM {self._table} ORDER BY batch, migration")
            return [(str(name), int(batch)) for name, batch in cur.fetchall()]

    def _journal_rows(self) -> Dict[str, Dict[str, Any]]:
        if not self._table_exists(self.settings.journal_table):
            return {}
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT migration, checksum, state, direction, batch, statements_done, statements_total "
                f"FROM {self._journal}"
            )
            keys = ("checksum", "state", "direction", "batch", "statements_done", "statements_total")
            return {row[0]: dict(zip(keys, row[1:])) for row in cur.fetchall()}

    def _last_batch(self) -> int:
        rows = self._applied_rows()
        return max((row[1] for row in rows), default=0)

    def _refuse_changed_files(self) -> None:
        changed = [s.migration for s in self.status() if s.checksum == "changed"]
        if changed:
            raise SchemagateError(
                f"Applied migration {changed[0]} no longer matches its recorded checksum"
                + (f" (and {len(changed) - 1} more)" if len(changed) > 1 else "")
                + ": an applied migration must not be edited; restore the file and write a new migration instead.",
                {"changed_migrations": changed},
            )

    # Journal writes: small, autocommitted, so a crash leaves the truth behind.
    def _journal_start(self, migration: Migration, direction: str, batch: Optional[int], total: int) -> None:
        state = "running" if direction == "up" else "reverting"
        with self.conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO {self._journal} (migration, checksum, state, direction, batch, statements_done, "
                "statements_total, started_at, finished_at, duration_ms) "
                "VALUES (%s, %s, %s, %s, %s, 0, %s, NOW(6), NULL, NULL) "
                "ON DUPLICATE KEY UPDATE state = VALUES(state), direction = VALUES(direction), "
                "batch = VALUES(batch), statements_done = 0, statements_total = VALUES(statements_total), "
                "started_at = NOW(6), finished_at = NULL, duration_ms = NULL",
                (migration.name, migration.checksum if direction == "up" else None, state, direction, batch, total),
            )

    def _journal_progress(self, name: str, done: int) -> None:
        with self.conn.cursor() as cur:
            cur.execute(f"UPDATE {self._journal} SET statements_done = %s WHERE migration = %s", (done, name))

    def _journal_failed(self, name: str, direction: str) -> None:
        try:
            with self.conn.cursor() as cur:
                cur.execute(
                    f"UPDATE {self._journal} SET state = %s WHERE migration = %s",
                    ("failed" if direction == "up" else "revert_failed", name),
                )
        except MySQLError:
            pass  # the connection died with the statement; 'running' already tells the truth

    def _journal_finish(self, migration: Migration, direction: str, batch: Optional[int], duration_ms: float) -> None:
        # The migrations row and the journal change together, or not at all.
        self.conn.begin()
        try:
            with self.conn.cursor() as cur:
                if direction == "up":
                    cur.execute(f"INSERT INTO {self._table} (migration, batch) VALUES (%s, %s)", (migration.name, batch))
                    cur.execute(
                        f"UPDATE {self._journal} SET state = %s, finished_at = NOW(6), duration_ms = %s "
                        "WHERE migration = %s",
                        (APPLIED, round(duration_ms, 1), migration.name),
                    )
                else:
                    cur.execute(f"DELETE FROM {self._table} WHERE migration = %s", (migration.name,))
                    cur.execute(f"DELETE FROM {self._journal} WHERE migration = %s", (migration.name,))
            self.conn.commit()
        except MySQLError:
            self.conn.rollback()
            raise


def _collapse(objects: Set[str]) -> List[str]:
    """Objects sorted, leaving out the columns, indexes and keys of a table that is itself listed."""
    tables = {o.split(" ", 1)[1] for o in objects if o.startswith(("table ", "view "))}
    return sorted(o for o in objects if o.startswith(("table ", "view ")) or o.rsplit(" ", 1)[1].split(".")[0] not in tables)


def _journal_detail(row: Dict[str, Any]) -> str:
    verb = "up" if row.get("direction") == "up" else "down"
    return (
        f"{verb} stopped after {row.get('statements_done', 0)} of {row.get('statements_total', 0)} statements "
        f"({row.get('state')}); roll back to remove what it left, or fix and migrate again"
    )
