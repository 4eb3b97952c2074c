"""The migration runner: Laravel's migrate / migrate --step / migrate:rollback, in SQL, for any format.

Applied migrations are recorded in the team's own tool's table (``history.py``:
Laravel's ``migrations``, golang-migrate's or dbmate's ``schema_migrations``,
goose's ``goose_db_version``, Flyway's ``flyway_schema_history``), with that
tool's exact semantics, so the tool and schemagate agree about what ran. A
second table, ``schemagate_<table>``, keeps what the tools cannot: the checksum
of each applied up, the batch, and a journal of the migration in flight, so a
run that dies half-way is reported as *partial* instead of applied or pending.

States (``MigrationState``): applied; pending; partial (statements ran, then it
stopped: the rollback undoes exactly what ran, or a retry resumes); failed (its
last attempt failed at its first statement having changed nothing: it is simply
pending again); checksum_changed (applied, and its file has been edited since);
missing_file (recorded as applied, no file here).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from ..core.bookkeeping import journal_table as journal_table_of
from ..core.connection import MySQLError, error_code, error_text, quote_identifier, validate_identifier
from ..core.dialect import detect_server, foreign_construct, resolve_sql_mode
from ..core.errors import SchemagateError
from ..core.interrupts import Interrupted, StopWatch
from ..core.sql_script import Statement, is_compound
from .formats import AUTO, FORMATS, LARAVEL, version_key
from .history import DEFAULT_TABLES, ToolHistory, history_for
from .locks import advisory_lock, describe_open_transactions
from .migration import Direction, Migration
from .partial import Judgement, collapse, judge, objects_of


class MigrationState(str, Enum):
    """What ``status`` says of a migration. A str subclass: returned data keeps the plain values."""

    APPLIED = "applied"
    PENDING = "pending"
    PARTIAL = "partial"
    FAILED = "failed"
    CHECKSUM_CHANGED = "checksum_changed"
    MISSING_FILE = "missing_file"


class JournalState(str, Enum):
    """The journal row of a migration in flight (schemagate_<table>.state)."""

    RUNNING = "running"
    FAILED = "failed"
    REVERTING = "reverting"
    REVERT_FAILED = "revert_failed"
    APPLIED = "applied"


APPLIED = MigrationState.APPLIED
PENDING = MigrationState.PENDING
PARTIAL = MigrationState.PARTIAL
FAILED = MigrationState.FAILED
CHECKSUM_CHANGED = MigrationState.CHECKSUM_CHANGED
MISSING_FILE = MigrationState.MISSING_FILE
UP = Direction.UP
DOWN = Direction.DOWN

_LOCK_WAIT_TIMEOUT = 1205  # also raised when a metadata lock is not granted in lock_wait_timeout
_PARSE_ERROR = 1064
# Columns added to the journal after its first release: older journals are upgraded in place.
_JOURNAL_COLUMNS = (
    ("done_digest", "CHAR(64) NULL"),
    ("effect", "MEDIUMTEXT NULL"),
    ("error", "TEXT NULL"),
)


@dataclass(frozen=True)
class RunnerSettings:
    database: str
    migrations_table: Optional[str] = None  # None: the history tool's own default table name
    lock_timeout: int = 60  # seconds to wait for another run's migration lock
    ddl_lock_wait_timeout: int = 5  # seconds a DDL statement may wait for a metadata lock
    history: str = AUTO  # whose bookkeeping table: auto = the migrations' own format's tool
    sql_mode: Optional[str] = None  # session sql_mode for migration statements (None: the server's)
    source: str = "sql"  # sql: statements run by this runner; laravel: a Laravel app's PHP migrations run by artisan (laravel.py)
    laravel_app: Optional[str] = None  # with source laravel: the application root (where artisan lives)
    laravel_tls: Tuple[Tuple[str, str], ...] = ()  # with source laravel: MYSQL_ATTR_SSL_* for artisan (ca_cert, client_cert, client_key)

    def __post_init__(self) -> None:
        validate_identifier(self.database, "database name")
        if self.history != AUTO and self.history not in FORMATS:
            raise SchemagateError(f"Unknown history {self.history!r}: use auto or one of {', '.join(FORMATS)}.")
        if self.source not in ("sql", "laravel"):
            raise SchemagateError(f"Unknown migrations source {self.source!r}: use sql or laravel.")
        validate_identifier(self.table, "migrations_table")
        validate_identifier(self.journal_table, "journal table name")
        if self.lock_timeout < 0 or self.ddl_lock_wait_timeout < 1:
            raise SchemagateError("lock_timeout must be >= 0 and ddl_lock_wait_timeout >= 1 (seconds).")

    @property
    def tool(self) -> str:
        return LARAVEL if self.history == AUTO else self.history

    @property
    def table(self) -> str:
        return self.migrations_table or DEFAULT_TABLES[self.tool]

    @property
    def journal_table(self) -> str:
        return journal_table_of(self.table)

    @property
    def bookkeeping_tables(self) -> Tuple[str, str]:
        """Tables the runner owns: left out when comparing application schemas."""
        return (self.table, self.journal_table)

    def for_migrations(self, migrations: Sequence[Migration]) -> "RunnerSettings":
        """``history: auto`` resolved to the tool of the migrations' format."""
        if self.history != AUTO:
            return self
        tool = migrations[0].migration_format if migrations else LARAVEL
        return dataclasses.replace(self, history=tool)


@dataclass
class MigrationStatus:
    migration: str
    state: MigrationState
    batch: Optional[int] = None
    checksum: str = "unknown"  # ok | changed | unknown (applied outside schemagate)
    detail: str = ""
    reversible: bool = True
    version: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return {
            "migration": self.migration,
            "state": self.state.value,
            "batch": self.batch,
            "checksum": self.checksum,
            "detail": self.detail,
            "reversible": self.reversible,
            "version": self.version,
        }


@dataclass
class MigrationRun:
    migration: str
    direction: Direction
    batch: Optional[int]
    statements: List[str] = field(default_factory=list)
    duration_ms: float = 0.0
    created: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)  # statements a partial rollback left out, and why
    resumed_from: Optional[int] = None

    def as_dict(self) -> Dict[str, Any]:
        out = {
            "migration": self.migration,
            "direction": self.direction.value,
            "batch": self.batch,
            "statements": list(self.statements),
            "duration_ms": round(self.duration_ms, 1),
            "created_objects": list(self.created),
            "removed_objects": list(self.removed),
        }
        if self.skipped:
            out["skipped_statements"] = list(self.skipped)
        if self.resumed_from:
            out["resumed_from_statement"] = self.resumed_from
        return out

    def brief(self) -> Dict[str, Any]:
        """What a failure report says of a migration completed before it: counts and objects, not the SQL."""
        return {
            "migration": self.migration,
            "direction": self.direction.value,
            "statements": len(self.statements),
            "created_objects": list(self.created),
            "removed_objects": list(self.removed),
        }


@dataclass
class RunResult:
    changed: bool
    runs: List[MigrationRun]
    pretend: bool = False
    notes: List[str] = field(default_factory=list)

    @property
    def names(self) -> List[str]:
        return [run.migration for run in self.runs]


class MigrationFailed(SchemagateError):
    """A statement failed; details name the migration, the statement and what it had created."""


class StopRequested(SchemagateError):
    """A stop request (signal, stop file, lost controller) reached the runner between two statements."""


@dataclass
class _Journal:
    checksum: Optional[str]
    state: JournalState
    direction: Optional[str]
    batch: Optional[int]
    done: int
    total: int
    done_digest: Optional[str]
    effect: Optional[Dict[str, List[str]]]
    error: Optional[str]


# Extension point: a hook may run a statement itself instead of the runner (deploy/alter_wrapper.py hands
# annotated ALTERs to pt-online-schema-change). Called with (migration, direction, statement) before each
# statement; True means it ran it. A SchemagateError it raises is reported like a failed statement.
StatementHook = Callable[[Migration, Direction, Statement], bool]


def refuse_changed_checksums(statuses: Sequence[MigrationStatus]) -> None:
    """An applied migration whose file changed stops every migrate (whatever runs the migrations)."""
    changed = [s.migration for s in statuses if s.state == CHECKSUM_CHANGED]
    if changed:
        raise SchemagateError(
            f"Applied migration {changed[0]} no longer matches its recorded checksum"
            + (f" (and {len(changed) - 1} more)" if len(changed) > 1 else "")
            + ": an applied migration must not be edited; restore the file and write a new migration instead.",
            {"changed_migrations": changed},
        )


class MigrationRunner:
    def __init__(
        self, conn: Any, settings: RunnerSettings, migrations: Sequence[Migration], statement_hook: Optional[StatementHook] = None,
        stop: Optional[StopWatch] = None,
    ) -> None:
        self.conn = conn
        self.statement_hook = statement_hook
        # Interrupts (core/interrupts.py): checked before each up statement; migrate() then undoes this run.
        self.stop = stop
        self.statement_in_flight = False
        self.settings = settings.for_migrations(migrations)
        ordered = sorted(migrations, key=lambda m: m.sort_key)
        self.migrations: Dict[str, Migration] = {m.name: m for m in ordered}
        self.history: ToolHistory = history_for(self.settings.tool, conn, self.settings.database, self.settings.table, ordered)
        self._journal = quote_identifier(self.settings.journal_table)
        self._server = None

    @property
    def laravel(self) -> bool:
        return self.settings.tool == LARAVEL

    # ------------------------------------------------------------------ status
    def status(self) -> List[MigrationStatus]:
        """Every known migration: applied first (Laravel's order: batch, name; other tools: version), then the rest."""
        recorded = self.history.applied()
        journal = self._journal_rows()
        stuck = {s.name: s for s in self.history.stuck()}
        rows: List[MigrationStatus] = []
        applied_names = set()
        if not self.laravel:
            recorded = sorted(recorded, key=lambda r: self.migrations[r.name].sort_key if r.name in self.migrations else ())
        for entry in recorded:
            applied_names.add(entry.name)
            migration = self.migrations.get(entry.name)
            row = journal.get(entry.name)
            batch = entry.batch if self.laravel else (row.batch if row else None)
            status = MigrationStatus(entry.name, APPLIED, batch, reversible=bool(migration and migration.reversible),
                                     version=migration.version if migration else entry.name)
            if migration is None:
                status.state = MISSING_FILE
                status.detail = "recorded as applied but no file in the migrations directory"
            elif row and row.state in (JournalState.REVERTING, JournalState.REVERT_FAILED):
                status.state = PARTIAL
                status.detail = _journal_detail(row)
            else:
                if row and row.checksum:
                    status.checksum = "ok" if row.checksum == migration.checksum else "changed"
                if status.checksum == "changed":
                    status.state = CHECKSUM_CHANGED
                    status.detail = "the file changed after it was applied: restore it and write a new migration"
            if not migration or not migration.reversible:
                status.detail = status.detail or "no down: only a restore undoes it"
            rows.append(status)
        for name, migration in self.migrations.items():
            if name in applied_names:
                continue
            row = journal.get(name)
            status = MigrationStatus(name, PENDING, reversible=migration.reversible, version=migration.version)
            if migration.repeatable and row and row.checksum:
                status.detail = "changed since it was last applied: the next migrate applies it again"
            if row and row.state in (JournalState.RUNNING, JournalState.FAILED, JournalState.REVERTING, JournalState.REVERT_FAILED):
                if row.state == JournalState.FAILED and row.done == 0:
                    status.state = FAILED
                    status.detail = (f"failed at statement 1 of {row.total} having changed nothing ({row.error or 'error'}); "
                                     "fix the file and migrate again")
                else:
                    status.state = PARTIAL
                    status.batch = row.batch
                    status.detail = _journal_detail(row)
            elif name in stuck:
                status.state = PARTIAL
                status.detail = f"{stuck[name].detail}; {stuck[name].fix}"
            rows.append(status)
        for name, row in journal.items():  # in flight, but its file is gone
            if name not in self.migrations and name not in applied_names and row.state != JournalState.APPLIED:
                rows.append(MigrationStatus(name, PARTIAL, row.batch, detail=_journal_detail(row) + " (its file is missing)"))
        return rows

    def pending(self) -> List[Migration]:
        """Migrations the next migrate runs, in order (failed ones included: they changed nothing)."""
        states = {s.migration: s.state for s in self.status()}
        return [m for name, m in self.migrations.items() if states.get(name) in (PENDING, FAILED)]

    # ----------------------------------------------------------------- migrate
    def migrate(self, step: bool = False, pretend: bool = False) -> RunResult:
        """Apply every pending migration: one batch, or one batch each with ``step``."""
        if pretend:
            plan, notes = self._migrate_plan()
            next_batch = self._last_batch() + 1
            runs = [
                MigrationRun(m.name, UP, next_batch + (i if step else 0), [s.sql for s in m.up[start:]], resumed_from=start + 1 if start else None)
                for i, (m, start) in enumerate(plan)
            ]
            return RunResult(bool(runs), runs, pretend=True, notes=notes)
        with advisory_lock(self.conn, self.settings.database, self.settings.lock_timeout):
            self._prepare_session()
            self._ensure_tables()
            plan, notes = self._migrate_plan()
            batch = self._last_batch() + 1
            runs: List[MigrationRun] = []
            try:
                for migration, start in plan:
                    runs.append(self._run(migration, UP, batch, runs, start=start))
                    if step:
                        batch += 1
                if self.stop is not None:
                    self.stop.check()  # the last statement ran as the request came: undo all the same
            except (SchemagateError, Interrupted) as exc:
                if self.stop is None or self.stop.reason is None:
                    raise
                raise self._undo_interrupted(runs, [m.name for m, _start in plan], exc) from None
            return RunResult(bool(runs), runs, notes=notes)

    def _undo_interrupted(self, runs: List[MigrationRun], planned: List[str], cause: BaseException) -> SchemagateError:
        """After a stop request: undo what this run applied (partial rules for the one in flight), newest first."""
        reason = (self.stop.reason if self.stop is not None else None) or "interrupt"
        if self.stop is not None:
            self.stop.ignoring = True  # the undo itself runs to its end (only kill -9 stops it)
        where = ""
        if isinstance(cause, MigrationFailed):
            where = f" during {cause.details.get('failed_migration')} (statement {cause.details.get('failed_statement_index')} of " \
                    f"{cause.details.get('statements_total')})"
        partial = [s.migration for s in self.status() if s.state == PARTIAL and s.migration in planned]
        steps = len(partial) + len(runs)
        details: Dict[str, Any] = {"interrupted": reason, "applied_before_stop": [r.migration for r in runs],
                                   "partial_at_stop": partial, "undone": []}
        if steps == 0:
            details["production"] = "unchanged"
            return SchemagateError(
                f"Interrupted ({reason}){where} before any migration changed production; production unchanged.", details)
        try:
            targets, _notes = self._rollback_targets(steps)
            undone: List[MigrationRun] = []
            for migration, batch, is_partial in targets:
                undone.append(self._run(migration, DOWN, batch, undone, partial=is_partial))
        except (SchemagateError, MySQLError) as exc:
            details["production"] = "half-migrated"
            return SchemagateError(
                f"Interrupted ({reason}){where}; undoing this run failed: {exc.args[0] if exc.args else exc}. "
                "Production is half-migrated: run ansible-playbook playbooks/rollback.yml (see migrate status).", details)
        details["undone"] = [r.migration for r in undone]
        details["undo_runs"] = [r.as_dict() for r in undone]
        details["production"] = "rolled back"
        return SchemagateError(
            f"Interrupted ({reason}){where}; production rolled back: undid {', '.join(details['undone'])}.", details)

    def _migrate_plan(self) -> Tuple[List[Tuple[Migration, int]], List[str]]:
        """(migration, statements already done) to run, refusing anything unsafe first."""
        statuses = self.status()
        refuse_changed_checksums(statuses)
        stuck = {s.name: s for s in self.history.stuck()}
        journal = self._journal_rows()
        plan: List[Tuple[Migration, int]] = []
        for status in statuses:
            if status.state != PARTIAL:
                continue
            name = status.migration
            row = journal.get(name)
            migration = self.migrations.get(name)
            if row is None:  # the tool's own record says it stopped halfway: schemagate knows nothing more
                fix = stuck[name].fix if name in stuck else "fix it by hand"
                raise SchemagateError(f"Migration {name} stopped halfway under {self.settings.tool} ({status.detail}): {fix}; then migrate again.")
            if row.direction == DOWN.value:
                raise SchemagateError(
                    f"The rollback of {name} stopped after {row.done} of {row.total} statements: finish it with command=rollback "
                    "(it undoes only what is left), then migrate again."
                )
            resumable = (
                migration is not None and row.state == JournalState.FAILED and 0 < row.done < len(migration.up)
                and row.done_digest == _digest(migration.up[: row.done])
            )
            if not resumable:
                why = (
                    f"it was interrupted during statement {row.done + 1}, whose effect is unknown"
                    if row.state == JournalState.RUNNING
                    else f"its first {row.done} statement(s) are no longer the ones that ran" if migration else "its file is gone"
                )
                made = ", ".join((row.effect or {}).get("created", [])) or "see status"
                raise SchemagateError(
                    f"Migration {name} stopped after {row.done} of {row.total} statements and cannot resume safely ({why}): "
                    f"undo it first with command=rollback (it removes what the {row.done} statement(s) made: {made}), then migrate again.",
                    {"partial_migration": name},
                )
            plan.append((migration, row.done))  # type: ignore[arg-type]
        pending = self.pending()
        planned = {migration.name for migration, _done in plan}
        plan += [(m, 0) for m in pending if m.name not in planned]
        plan.sort(key=lambda item: item[0].sort_key)
        return plan, []

    # ---------------------------------------------------------------- rollback
    def rollback(self, steps: Optional[int] = None, pretend: bool = False) -> RunResult:
        """Undo the last batch, or the last ``steps`` migrations (Laravel's --step=N)."""
        if steps is not None and steps < 1:
            raise SchemagateError("steps must be a positive number of migrations to roll back.")
        if pretend:
            targets, notes = self._rollback_targets(steps)
            runs = [MigrationRun(m.name, DOWN, b, [s.sql for s in m.statements(DOWN)]) for m, b, _partial in targets]
            return RunResult(bool(runs), runs, pretend=True, notes=notes)
        with advisory_lock(self.conn, self.settings.database, self.settings.lock_timeout):
            self._prepare_session()
            self._ensure_tables()
            runs: List[MigrationRun] = []
            targets, notes = self._rollback_targets(steps)
            for migration, batch, partial in targets:
                runs.append(self._run(migration, DOWN, batch, runs, partial=partial))
            return RunResult(bool(runs), runs, notes=notes)

    def _rollback_targets(self, steps: Optional[int]) -> Tuple[List[Tuple[Migration, Optional[int], bool]], List[str]]:
        # A migration that stopped half-way is undone first: only what it applied, by the partial rule.
        statuses = self.status()
        partial = [s for s in statuses if s.state == PARTIAL]
        journal = self._journal_rows()
        stuck = {s.name: s for s in self.history.stuck()}
        for status in partial:
            if status.migration not in journal and status.migration in stuck:
                raise SchemagateError(
                    f"Migration {status.migration} stopped halfway under {self.settings.tool} ({stuck[status.migration].detail}), "
                    f"outside schemagate: {stuck[status.migration].fix}; then roll back or migrate again."
                )
        partial.sort(key=lambda s: self.migrations[s.migration].sort_key if s.migration in self.migrations else (), reverse=True)
        applied = [s for s in statuses if s.state in (APPLIED, CHECKSUM_CHANGED, MISSING_FILE)]
        notes: List[str] = []
        repeatables = [s for s in applied if s.migration in self.migrations and self.migrations[s.migration].repeatable]
        if repeatables:
            notes.append(f"repeatable migrations are never undone ({', '.join(s.migration for s in repeatables)} stay as last applied)")
        applied = [s for s in applied if s not in repeatables]
        if self.laravel:
            ordered = sorted(applied, key=lambda s: (s.batch or 0, s.migration), reverse=True)
        else:
            ordered = sorted(applied, key=lambda s: self.migrations[s.migration].sort_key if s.migration in self.migrations else (), reverse=True)
        if steps is None:
            if ordered and ordered[0].batch is not None:
                last = ordered[0].batch
                chosen_applied = []
                for s in ordered:  # the newest migrations of the last batch (others: each tool-applied one is its own batch)
                    if s.batch != last:
                        break
                    chosen_applied.append(s)
            else:
                chosen_applied = ordered[:1]
            chosen = partial + chosen_applied
        else:
            chosen = (partial + ordered)[:steps]
        targets = []
        for status in chosen:
            migration = self.migrations.get(status.migration)
            if migration is None:
                raise SchemagateError(
                    f"Cannot roll back {status.migration}: it is recorded as applied but its file is not in the "
                    "migrations directory; restore the file (or a verified backup)."
                )
            if not migration.reversible:
                raise SchemagateError(f"Cannot roll back {migration.name}: no down: only a restore undoes it.",
                                      {"irreversible_migration": migration.name})
            targets.append((migration, status.batch, status.state == PARTIAL))
        return targets, notes

    # ---------------------------------------------------------------- baseline
    def baseline(self, version: str) -> List[str]:
        """Record every migration up to ``version`` as applied without running it (a database with no history)."""
        with advisory_lock(self.conn, self.settings.database, self.settings.lock_timeout):
            self._ensure_tables()
            existing = self.history.row_count() - (1 if self.settings.tool == "goose" else 0)
            if existing > 0:
                raise SchemagateError(
                    f"Cannot baseline {self.settings.database}: {self.settings.table} already records {existing} migration(s); "
                    "a baseline is for a database with no history (use status to see it)."
                )
            target = version_key(self.settings.tool, version)
            upto = [m for m in self.migrations.values() if not m.repeatable and version_key(self.settings.tool, m.version) <= target]
            self.conn.begin()
            try:
                with self.conn.cursor() as cur:
                    self.history.baseline(cur, upto, version)
                    for migration in upto:
                        self._journal_upsert(cur, migration, JournalState.APPLIED, None, None, len(migration.up), len(migration.up))
                self.conn.commit()
            except MySQLError:
                self.conn.rollback()
                raise
            return [m.name for m in upto]

    # --------------------------------------------------------------- internals
    def _run(
        self,
        migration: Migration,
        direction: Direction,
        batch: Optional[int],
        done: List[MigrationRun],
        start: int = 0,
        partial: bool = False,
    ) -> MigrationRun:
        statements = migration.statements(direction)
        run = MigrationRun(migration.name, direction, batch, resumed_from=start + 1 if start else None)
        journal = self._journal_rows().get(migration.name)
        effect = journal.effect if journal else None
        was_applied = any(r.name == migration.name for r in self.history.applied())
        self._journal_start(migration, direction, batch, len(statements), start)
        before = self._objects()
        started = time.monotonic()
        for index, statement in enumerate(statements, start=1):
            if index <= start:
                run.statements.append(statement.sql)
                continue
            sql = statement.sql
            if partial:
                verdict = judge(statement, self._objects())
                if verdict.action == Judgement.SKIP:
                    run.skipped.append(f"statement {index} (line {statement.line}): {verdict.reason}")
                    self._journal_progress(migration, index, statements)
                    continue
                if verdict.action == Judgement.STOP:
                    if effect is not None and _effect_undone(effect, self._objects()):
                        run.skipped.append(f"statements {index}-{len(statements)}: everything the up made is already undone")
                        break
                    self._journal_failed(migration, direction, index - 1 > start or not was_applied,
                                         f"cannot judge: {verdict.reason}", before)
                    raise self._unsafe_partial(migration, statement, index, len(statements), verdict.reason, effect)
                sql = verdict.sql or sql
            try:
                if direction == UP and self.stop is not None and self.stop.poll() is not None and not self.stop.ignoring:
                    raise StopRequested(f"stopped by {self.stop.reason} before this statement ran")
                hooked = sql is statement.sql and self.statement_hook is not None and self.statement_hook(migration, direction, statement)
                if not hooked:
                    with self.conn.cursor() as cur:
                        self.statement_in_flight = True
                        try:
                            cur.execute(sql)
                            while cur.nextset():
                                pass
                        finally:
                            self.statement_in_flight = False
            except (MySQLError, SchemagateError) as exc:
                failure = self._failure(migration, direction, statement, index, len(statements), exc, before, done)
                changed = bool(failure.details.get("created_objects") or failure.details.get("removed_objects")) or index > 1
                if direction == DOWN and not was_applied:
                    changed = True  # undoing a partial up: it stays partial whatever this attempt did
                if effect and direction == UP:  # a resumed run: what the earlier attempt made still counts
                    for key, found in (("created", "created_objects"), ("removed", "removed_objects")):
                        failure.details[found] = sorted(set(failure.details.get(found, [])) | set(effect.get(key, [])))
                self._journal_failed(migration, direction, changed, error_text(exc), before, failure.details)
                raise failure from None
            run.statements.append(statement.sql)
            self._journal_progress(migration, index, statements)
        run.duration_ms = (time.monotonic() - started) * 1000
        after = self._objects()
        run.created, run.removed = collapse(after - before), collapse(before - after)
        if partial and effect is not None:
            left = _effect_left(effect, after)
            if left:
                self._journal_failed(migration, direction, True, "objects remain after the partial rollback", before)
                raise SchemagateError(
                    f"Partial rollback of {migration.name} ran, but still in place from its up: {', '.join(left)}: "
                    "undo them by hand, then run rollback again (it only clears what is already gone).",
                    {"remaining_objects": left},
                )
        self._journal_finish(migration, direction, batch, run.duration_ms, was_applied)
        return run

    def _unsafe_partial(self, migration: Migration, statement: Statement, index: int, total: int, reason: str,
                        effect: Optional[Dict[str, List[str]]]) -> SchemagateError:
        current = self._objects()
        remaining = _effect_left(effect, current) if effect is not None else []
        rest = [s.summary(80) for s in migration.statements(DOWN)[index - 1:]]
        return SchemagateError(
            f"Rollback of partial migration {migration.name} stopped before down statement {index} of {total} "
            f"({migration.path(DOWN)} line {statement.line}): {reason}, so it cannot be judged safe for a migration that ran only "
            f"in part. Still in place from its up: {', '.join(remaining) if remaining else 'unknown (see status)'}. "
            f"Finish by hand: undo those (the down's remaining statements: {len(rest)}), then run rollback again; "
            "a partial migration whose objects are all gone is just cleared.",
            {"partial_migration": migration.name, "remaining_objects": remaining, "remaining_down_statements": rest,
             "stopped_at_statement": index},
        )

    def _failure(
        self,
        migration: Migration,
        direction: Direction,
        statement: Statement,
        index: int,
        total: int,
        exc: BaseException,
        before: Set[str],
        done: List[MigrationRun],
    ) -> MigrationFailed:
        cause = error_text(exc)
        try:
            after: Optional[Set[str]] = self._objects()
        except MySQLError:  # the connection died with the statement: the journal keeps the truth
            after = None
        created = collapse(after - before) if after is not None else []
        removed = collapse(before - after) if after is not None else []
        if error_code(exc) == _LOCK_WAIT_TIMEOUT:
            blockers = describe_open_transactions(self.conn)
            cause += (
                f" after lock_wait_timeout={self.settings.ddl_lock_wait_timeout}s; blocked by: "
                + ("; ".join(blockers) if blockers else "no open transaction found (a long query or LOCK TABLES?)")
            )
        advice = self._advice(statement, exc, after is not None)
        verb = "created" if direction == UP else "removed"
        left = created if direction == UP else removed
        effect = (
            f"statements 1-{index - 1} had {verb}: {', '.join(left) if left else 'nothing'}"
            if after is not None
            else f"the connection was lost, so what statements 1-{index - 1} {verb} is unknown here: run status once the server is back"
        )
        if index == 1 and after is not None and not created and not removed:
            effect = ("it changed nothing, so it is pending again: fix the file and migrate again" if direction == UP
                      else "it changed nothing, so the migration is still applied: fix the down file and roll back again")
        earlier = ""
        if done:
            made = sorted({o for r in done for o in (r.created if r.direction == UP else r.removed)})
            earlier = (
                f" Before it, this run completed {len(done)} migration(s) ({sum(len(r.statements) for r in done)} statements"
                + (f"; {'created' if direction == UP else 'removed'}: {_first(made)}" if made else "") + ")."
            )
        message = (
            f"Migration {migration.name} ({direction.value}) failed at statement {index} of {total} "
            f"({migration.path(direction)} line {statement.line}): {cause}.{advice} "
            f"It is not recorded as {'applied' if direction == UP else 'rolled back'}; {effect}.{earlier}"
        )
        return MigrationFailed(
            message,
            {
                "failed_migration": migration.name,
                "direction": direction.value,
                "failed_statement_index": index,
                "failed_statement": statement.sql,
                "failed_statement_line": statement.line,
                "failed_file": migration.path(direction),
                "statements_total": total,
                "error": cause,
                "created_objects": created,
                "removed_objects": removed,
                "completed": [run.brief() for run in done],
            },
        )

    def _advice(self, statement: Statement, exc: BaseException, connected: bool) -> str:
        """One sentence on what to do, where the cause is recognisable."""
        code = error_code(exc)
        if connected:
            try:
                if self._server is None:
                    self._server = detect_server(self.conn)
                foreign = foreign_construct(statement.sql, self._server, code)
            except MySQLError:
                foreign = None
            if foreign:
                return f" {foreign}."
        cut = "near ''" in error_text(exc)  # the server reached the end of the text mid-statement
        if code == _PARSE_ERROR and cut and is_compound(statement.sql):
            return (" The compound statement ended early, at a ';' inside its body: write it between DELIMITER $$ lines"
                    " (use DELIMITER), or check that every BEGIN, IF, CASE and LOOP has its END")
        if code == _PARSE_ERROR and re.match(r"^\s*END\b", statement.sql, re.IGNORECASE):
            return (" This is the tail of a compound statement that was split at a ';': use DELIMITER around the"
                    " CREATE ... BEGIN ... END")
        return ""

    def _objects(self) -> Set[str]:
        return objects_of(self.conn, self.settings.database, set(self.settings.bookkeeping_tables))

    def _prepare_session(self) -> None:
        with self.conn.cursor() as cur:
            # A DDL statement queued behind a long transaction blocks every later query on the
            # table: fail fast instead and let the operator decide.
            cur.execute("SET SESSION lock_wait_timeout = %s", (self.settings.ddl_lock_wait_timeout,))
            if self.settings.sql_mode is not None:
                mode = resolve_sql_mode(self.settings.sql_mode)
                try:
                    cur.execute("SET SESSION sql_mode = %s", (mode,))
                except MySQLError as exc:
                    raise SchemagateError(
                        f"sql_mode {self.settings.sql_mode!r} is refused by the server ({error_text(exc)}): "
                        "use modes this server knows, or sql_mode=mysql8 for MySQL 8's default set."
                    ) from None

    def _ensure_tables(self) -> None:
        self.history.ensure()
        with self.conn.cursor() as cur:
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
                "duration_ms DECIMAL(12,1) NULL, "
                "done_digest CHAR(64) NULL, "
                "effect MEDIUMTEXT NULL, "
                "error TEXT NULL"
                ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
            )
            have = self._journal_columns()
            for name, definition in _JOURNAL_COLUMNS:
                if name not in have:
                    cur.execute(f"ALTER TABLE {self._journal} ADD COLUMN {name} {definition}")

    def _journal_columns(self) -> Set[str]:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (self.settings.database, self.settings.journal_table),
            )
            return {str(row[0]).lower() for row in cur.fetchall()}

    def _journal_rows(self) -> Dict[str, _Journal]:
        have = self._journal_columns()
        if not have:
            return {}
        if "state" not in have or "migration" not in have:
            raise SchemagateError(
                f"Table {self.settings.journal_table!r} in {self.settings.database} is not schemagate's journal: "
                "rename that application table (the schemagate_ prefix is reserved), or set migrations_table."
            )
        extra = [name for name, _definition in _JOURNAL_COLUMNS]
        cols = ", ".join(c if c in have else f"NULL AS {c}" for c in extra)
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT migration, checksum, state, direction, batch, statements_done, statements_total, {cols} FROM {self._journal}"
            )
            out = {}
            for row in cur.fetchall():
                try:
                    state = JournalState(row[2])
                except ValueError:
                    state = JournalState.FAILED
                effect = json.loads(row[8]) if row[8] else None
                out[str(row[0])] = _Journal(row[1], state, row[3], row[4], int(row[5] or 0), int(row[6] or 0), row[7], effect, row[9])
            return out

    def _last_batch(self) -> int:
        batches = [s.batch for s in self.status() if s.batch is not None]
        return max(batches, default=0)

    # Journal writes: small, autocommitted, so a crash leaves the truth behind.
    def _journal_upsert(self, cur: Any, migration: Migration, state: JournalState, direction: Optional[Direction],
                        batch: Optional[int], done: int, total: int) -> None:
        cur.execute(
            f"INSERT INTO {self._journal} (migration, checksum, state, direction, batch, statements_done, "
            "statements_total, started_at, finished_at, duration_ms, done_digest, effect, error) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, NOW(6), NULL, NULL, %s, NULL, NULL) "
            "ON DUPLICATE KEY UPDATE checksum = VALUES(checksum), state = VALUES(state), direction = VALUES(direction), "
            "batch = VALUES(batch), statements_done = VALUES(statements_done), statements_total = VALUES(statements_total), "
            "started_at = NOW(6), finished_at = NULL, duration_ms = NULL, done_digest = VALUES(done_digest), error = NULL",
            (migration.name, migration.checksum, state.value, direction.value if direction else None, batch, done, total,
             _digest(migration.up[:done]) if direction != DOWN else None),
        )

    def _journal_start(self, migration: Migration, direction: Direction, batch: Optional[int], total: int, start: int) -> None:
        state = JournalState.RUNNING if direction == UP else JournalState.REVERTING
        self.conn.begin()
        try:
            with self.conn.cursor() as cur:
                # The checksum recorded is always the file being run now: a fixed file is never held against its failed version.
                self._journal_upsert(cur, migration, state, direction, batch, start, total)
                if direction == UP:
                    self.history.begin_up(cur, migration)
                else:
                    self.history.begin_down(cur, migration)
            self.conn.commit()
        except MySQLError:
            self.conn.rollback()
            raise

    def _journal_progress(self, migration: Migration, done: int, statements: Sequence[Statement]) -> None:
        with self.conn.cursor() as cur:
            cur.execute(
                f"UPDATE {self._journal} SET statements_done = %s, done_digest = %s WHERE migration = %s",
                (done, _digest(statements[:done]), migration.name),
            )

    def _journal_failed(self, migration: Migration, direction: Direction, changed: bool, error: str, before: Set[str],
                        details: Optional[Dict[str, Any]] = None) -> None:
        try:
            effect = None
            if details is not None:
                effect = {"created": details.get("created_objects", []), "removed": details.get("removed_objects", [])}
            self.conn.begin()
            with self.conn.cursor() as cur:
                state = JournalState.FAILED if direction == UP else JournalState.REVERT_FAILED
                if direction == DOWN and not changed:  # the down changed nothing: still simply applied
                    state = JournalState.APPLIED
                if direction == UP and effect is not None:
                    cur.execute(
                        f"UPDATE {self._journal} SET state = %s, error = %s, effect = %s WHERE migration = %s",
                        (state.value, error[:2000], json.dumps(effect), migration.name),
                    )
                else:
                    cur.execute(f"UPDATE {self._journal} SET state = %s, error = %s WHERE migration = %s",
                                (state.value, error[:2000], migration.name))
                if direction == UP:
                    self.history.fail_up(cur, migration, changed, 0.0)
                else:
                    self.history.fail_down(cur, migration, changed)
            self.conn.commit()
        except MySQLError:
            try:
                self.conn.rollback()
            except MySQLError:
                pass  # the connection died with the statement; 'running' already tells the truth

    def _journal_finish(self, migration: Migration, direction: Direction, batch: Optional[int], duration_ms: float,
                        was_applied: bool) -> None:
        # The tool's row and the journal change together, or not at all.
        self.conn.begin()
        try:
            with self.conn.cursor() as cur:
                if direction == UP:
                    self.history.finish_up(cur, migration, batch, duration_ms)
                    cur.execute(
                        f"UPDATE {self._journal} SET state = %s, finished_at = NOW(6), duration_ms = %s, effect = NULL, "
                        "error = NULL WHERE migration = %s",
                        (JournalState.APPLIED.value, round(duration_ms, 1), migration.name),
                    )
                else:
                    self.history.finish_down(cur, migration, was_applied, duration_ms)
                    cur.execute(f"DELETE FROM {self._journal} WHERE migration = %s", (migration.name,))
            self.conn.commit()
        except MySQLError:
            self.conn.rollback()
            raise


def _digest(statements: Sequence[Statement]) -> str:
    return hashlib.sha256("\0".join(s.sql for s in statements).encode("utf-8")).hexdigest()


def _first(items: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _effect_left(effect: Optional[Dict[str, List[str]]], current: Set[str]) -> List[str]:
    """What of a recorded effect is still in place: created objects that exist, removed ones still missing."""
    if not effect:
        return []
    left = [o for o in effect.get("created", []) if o in current]
    left += [f"{o} (removed by the up, not restored)" for o in effect.get("removed", []) if o not in current]
    return left


def _effect_undone(effect: Dict[str, List[str]], current: Set[str]) -> bool:
    return not _effect_left(effect, current)


def _journal_detail(row: _Journal) -> str:
    verb = "up" if row.direction == UP.value else "down"
    what = "roll back to remove what it left, or fix and migrate again" if verb == "up" else "run rollback again to finish it"
    return f"{verb} stopped after {row.done} of {row.total} statements ({row.state.value}); {what}"
