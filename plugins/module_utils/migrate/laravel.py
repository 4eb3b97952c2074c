"""Laravel applications: the app's own PHP migrations, run by artisan, behind the SQL runner's interface.

``source: laravel`` reads ``<app>/database/migrations/*.php`` as the migration set
and drives ``php artisan`` for every step that runs them, against whichever server
and database the step's connection targets (the rehearsal copy or production):

- status: Laravel's own ``migrations`` table (what ``migrate:status`` reads) and
  the app's files, plus schemagate's journal (checksum of each applied PHP file, a
  failed attempt and what it left);
- migrate: ``php artisan migrate --force --path=<file> --realpath`` per pending
  migration, in Laravel's order. One run is one batch, as ``migrate`` without
  ``--step`` makes it: artisan numbers each call's batch itself, so the rows of
  one run are given the run's batch afterwards (``step`` keeps one batch each,
  exactly ``migrate --step``);
- rollback: ``php artisan migrate:rollback --step=1 --force`` per migration,
  newest first, each checked to undo the migration schemagate expects;
- check mode: ``migrate --pretend`` / ``migrate:rollback --pretend`` (the SQL
  artisan would run, per migration).

The connection reaches artisan through the child process's environment only
(``DB_HOST``, ``DB_PORT``, ``DB_SOCKET``, ``DB_DATABASE``, ``DB_USERNAME``,
``DB_PASSWORD``; ``DATABASE_URL`` emptied): never argv, never the app's ``.env``
(whose values Laravel's immutable dotenv does not let override a set variable).
A cached config (``bootstrap/cache/config.php``) would ignore the environment and is
refused, as is a ``config/database.php`` that does not read ``DB_DATABASE``.

A PHP migration that fails on MySQL/MariaDB leaves the DDL that ran before the
error (MySQL commits DDL) and no row in ``migrations``: the schema is read before
and after each call, and what the failed migration created or removed is reported
and journalled, so ``status`` says *partial* and ``rollback`` drops exactly what
it created.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ..core.connection import MySQLError, quote_identifier
from ..core.errors import SchemagateError
from ..core.interrupts import StopWatch
from ..core.sql_script import Statement
from .formats import LARAVEL
from .locks import advisory_lock
from .migration import Direction, Migration, inside
from .partial import collapse
from .runner import (
    APPLIED, FAILED, PARTIAL, JournalState, MigrationFailed, MigrationRun, MigrationRunner,
    MigrationStatus, RunResult, RunnerSettings, StatementHook, _effect_left, refuse_changed_checksums,
)

SQL_SOURCE = "sql"
LARAVEL_SOURCE = "laravel"
SOURCES = (SQL_SOURCE, LARAVEL_SOURCE)
ARTISAN_TIMEOUT = 3600  # seconds one artisan call may take
_NAME = re.compile(r"^(?P<version>\d{4}_\d{2}_\d{2}_\d{6})_[A-Za-z0-9_]+$")
_HAS_DOWN = re.compile(r"function\s+down\s*\(", re.IGNORECASE)
_READS_ENV = re.compile(r"env\(\s*['\"]DB_DATABASE['\"]")
_EXCEPTION_BLOCK = re.compile(r"^\s*In \S+ line \d+:\s*$")
_DURATION = re.compile(r"\((?P<ms>\d+(?:\.\d+)?)\s*ms\)")
_ENV_NAMES = ("DB_HOST", "DB_PORT", "DB_SOCKET", "DB_DATABASE", "DB_USERNAME", "DB_PASSWORD", "DATABASE_URL",
              "MYSQL_ATTR_SSL_CA", "MYSQL_ATTR_SSL_CERT", "MYSQL_ATTR_SSL_KEY")


def migrations_dir_of(app: str) -> str:
    return os.path.join(app, "database", "migrations")


def check_app(app: Optional[str]) -> str:
    """The application root, or one line saying why artisan cannot be driven there."""
    if not app:
        raise SchemagateError("source=laravel needs laravel_app (schemagate_laravel_app): the application root, where artisan lives.")
    root = os.path.abspath(app)
    if not os.path.isfile(os.path.join(root, "artisan")):
        raise SchemagateError(f"Laravel application {root} has no artisan file: set laravel_app to the application root.")
    if not os.path.isdir(migrations_dir_of(root)):
        raise SchemagateError(f"Laravel application {root} has no database/migrations directory.")
    if os.path.exists(os.path.join(root, "bootstrap", "cache", "config.php")):
        raise SchemagateError(
            f"Laravel application {root} has a cached config (bootstrap/cache/config.php): artisan would ignore the "
            "connection schemagate gives it in DB_* variables; run `php artisan config:clear` first."
        )
    database_php = os.path.join(root, "config", "database.php")
    try:
        with open(database_php, encoding="utf-8") as handle:
            reads_env = bool(_READS_ENV.search(handle.read()))
    except OSError as exc:
        raise SchemagateError(f"Cannot read {database_php}: {exc.strerror}.") from None
    if not reads_env:
        raise SchemagateError(
            f"{database_php} does not read env('DB_DATABASE'): artisan would not migrate the database schemagate targets; "
            "read the connection from DB_HOST, DB_PORT, DB_SOCKET, DB_DATABASE, DB_USERNAME and DB_PASSWORD."
        )
    return root


def tls_environment(params: Mapping[str, Any]) -> Tuple[Tuple[str, str], ...]:
    """The module's TLS files as the variables Laravel's stock config/database.php reads (PDO::MYSQL_ATTR_SSL_*)."""
    names = (("ca_cert", "MYSQL_ATTR_SSL_CA"), ("client_cert", "MYSQL_ATTR_SSL_CERT"), ("client_key", "MYSQL_ATTR_SSL_KEY"))
    found = tuple((variable, str(params[option])) for option, variable in names if params.get(option))
    if found:
        app = check_app(params.get("laravel_app"))
        with open(os.path.join(app, "config", "database.php"), encoding="utf-8") as handle:
            text = handle.read()
        unread = [variable for variable, _path in found if f"env('{variable}'" not in text and f'env("{variable}"' not in text]
        if unread:
            raise SchemagateError(
                f"The connection uses TLS, but {app}/config/database.php does not read {', '.join(unread)}: artisan would "
                "connect without it; add PDO::MYSQL_ATTR_SSL_CA => env('MYSQL_ATTR_SSL_CA') (and _CERT, _KEY) to its options."
            )
    return found


def read_laravel_app(app: Optional[str]) -> List[Migration]:
    """The app's PHP migrations (``database/migrations/*.php``) in Laravel's order: by file name."""
    root = check_app(app)
    directory = migrations_dir_of(root)
    found: List[Migration] = []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if not entry.endswith(".php") or entry.startswith(".") or not os.path.isfile(path):
            continue
        if not inside(directory, path):
            raise SchemagateError(f"Migration file {path} is a symlink leading out of database/migrations: copy it in instead.")
        with open(path, "rb") as handle:
            data = handle.read()
        name = entry[:-4]
        match = _NAME.match(name)
        has_down = bool(_HAS_DOWN.search(data.decode("utf-8", "replace")))
        found.append(Migration(
            name=name, version=match.group("version") if match else name, up_path=path,
            down_path=path if has_down else None, up=(), down=() if has_down else None,
            checksum=hashlib.sha256(data).hexdigest(), sort_key=(name,), migration_format=LARAVEL, description="php",
        ))
    return found


def artisan_error(stdout: str, stderr: str, returncode: int) -> str:
    """The exception artisan printed, as one line (Symfony's console wraps it in a padded block)."""
    lines = (stdout + "\n" + stderr).splitlines()
    for index, line in enumerate(lines):
        if not _EXCEPTION_BLOCK.match(line):
            continue
        block: List[str] = []
        for text in lines[index + 1:]:
            if not text.strip():
                if block:
                    break
                continue
            block.append(text)
        if block:
            full = [text[2:-2] if len(text) >= 4 else text for text in block[:-1]]
            return _one_line("".join(full) + block[-1][2:].rstrip())
    for marker in ("SQLSTATE", "Exception", "Error"):
        for line in lines:
            if marker in line:
                return _one_line(line.strip())
    tail = [text.strip() for text in lines if text.strip()]
    return _one_line(tail[-1]) if tail else f"artisan exited with code {returncode} and printed nothing"


def _one_line(text: str, limit: int = 600) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ArtisanRunner(MigrationRunner):
    """``MigrationRunner``'s interface (status, pending, migrate, rollback, pretend) with artisan doing the work."""

    def __init__(self, conn: Any, settings: RunnerSettings, migrations: Sequence[Migration],
                 statement_hook: Optional[StatementHook] = None) -> None:
        super().__init__(conn, settings, migrations, statement_hook=None)  # annotations live in SQL files only
        self.app = check_app(settings.laravel_app)
        php = shutil.which("php")
        if php is None:
            raise SchemagateError("PHP is not installed on the host that runs the module: install php-cli and php-mysql "
                                  "(./run install does) to drive artisan.")
        self.php = php

    # ------------------------------------------------------------------ artisan
    def _environment(self, runtime: str) -> Dict[str, str]:
        """The parent's environment with the connection of this step in DB_*: the child's only, never argv."""
        env = {k: v for k, v in os.environ.items() if k not in _ENV_NAMES}
        password = getattr(self.conn, "password", b"") or b""
        user = getattr(self.conn, "user", "") or ""
        host = str(getattr(self.conn, "host", "") or "127.0.0.1")
        # PyMySQL reaches "localhost" over TCP; PHP's PDO would take it for the default socket (another server).
        host = "127.0.0.1" if host == "localhost" else host
        env.update({
            "DB_HOST": host,
            "DB_PORT": str(getattr(self.conn, "port", "") or 3306),
            "DB_SOCKET": str(getattr(self.conn, "unix_socket", "") or ""),
            "DB_DATABASE": self.settings.database,
            "DB_USERNAME": user.decode("utf-8") if isinstance(user, bytes) else str(user),
            "DB_PASSWORD": password.decode("latin1") if isinstance(password, bytes) else str(password),
            "DATABASE_URL": "",
            "LARAVEL_RUNTIME_DIR": runtime,
        })
        tls = dict(self.settings.laravel_tls)
        if getattr(self.conn, "_ssl_required", False) and "MYSQL_ATTR_SSL_CA" not in tls:  # TLS asked for, not PyMySQL's "preferred"
            raise SchemagateError(
                "The connection uses TLS set outside ca_cert (in config_file?), which schemagate cannot hand to artisan: "
                "set ca_cert (schemagate_ca_cert) so artisan gets it in MYSQL_ATTR_SSL_CA, never a plaintext connection."
            )
        env.update(tls)
        return env

    def artisan(self, *args: str) -> subprocess.CompletedProcess:
        """``php artisan <args> --no-interaction --no-ansi`` in the app, with a private runtime directory."""
        with tempfile.TemporaryDirectory(prefix="schemagate-artisan-") as runtime:
            try:
                return subprocess.run(
                    [self.php, "artisan", *args, "--no-interaction", "--no-ansi"], cwd=self.app, env=self._environment(runtime),
                    capture_output=True, text=True, timeout=ARTISAN_TIMEOUT, check=False,
                )
            except subprocess.TimeoutExpired:
                raise SchemagateError(f"php artisan {args[0]} did not finish within {ARTISAN_TIMEOUT} s in {self.app}.") from None
            except OSError as exc:
                raise SchemagateError(f"Cannot run php artisan in {self.app}: {exc.strerror}.") from None

    def _recorded(self) -> Dict[str, Optional[int]]:
        return {r.name: r.batch for r in self.history.applied()}

    # ------------------------------------------------------------------ status
    def status(self) -> List[MigrationStatus]:
        rows = super().status()
        journal = self._journal_rows()
        for row in rows:
            entry = journal.get(row.migration)
            if row.state == FAILED and entry is not None:
                row.detail = (f"failed in artisan having changed nothing ({entry.error or 'error'}); "
                              "fix the migration and migrate again")
            elif row.state == PARTIAL and entry is not None and entry.state == JournalState.RUNNING:
                row.detail = ("php artisan was interrupted while it ran this migration's up (the module was killed?): what it "
                              "changed is unknown; compare the schema with the migration and undo by hand, then delete its row "
                              f"from {self.settings.journal_table}")
            elif row.state == PARTIAL and entry is not None and entry.state == JournalState.REVERTING:
                row.detail = ("php artisan was interrupted while it ran this migration's down; it is still recorded as applied: "
                              "roll back again (artisan runs the down again)")
            elif row.state == PARTIAL and entry is not None and entry.direction == Direction.UP.value:
                made = ", ".join((entry.effect or {}).get("created", [])) or "unknown objects"
                row.detail = (f"its up failed in artisan after creating {made}, and Laravel did not record it: "
                              "command=rollback drops what it created; then fix it and migrate again")
            elif row.state == PARTIAL and entry is not None:
                row.detail = (f"its down failed in artisan after changing the schema ({entry.error or 'error'}); "
                              "it is still recorded as applied: fix the down and roll back again")
        return rows

    # ----------------------------------------------------------------- migrate
    def migrate(self, step: bool = False, pretend: bool = False) -> RunResult:
        if pretend:
            return self._pretend_up(step)
        with advisory_lock(self.conn, self.settings.database, self.settings.lock_timeout):
            self._ensure_tables()
            self._refuse_unsafe()
            plan = self.pending()
            if plan and not self._recorded():
                self._refuse_schema_dump()
            batch = self._last_batch() + 1
            runs: List[MigrationRun] = []
            for migration in plan:
                runs.append(self._up(migration, batch, runs))
                if step:
                    batch += 1
            return RunResult(bool(runs), runs)

    def _refuse_unsafe(self) -> None:
        statuses = self.status()
        refuse_changed_checksums(statuses)
        partial = [s for s in statuses if s.state == PARTIAL]
        if partial:
            raise SchemagateError(
                f"Migration {partial[0].migration} is partial ({partial[0].detail}): undo it first with command=rollback, "
                "then migrate again.", {"partial_migration": partial[0].migration},
            )

    def _refuse_schema_dump(self) -> None:
        """Into a database where nothing ran, artisan would first load a squashed schema (``schema:dump``)."""
        directory = os.path.join(self.app, "database", "schema")
        dumps = sorted(f for f in os.listdir(directory) if f.endswith(("-schema.dump", "-schema.sql"))) if os.path.isdir(directory) else []
        if dumps:
            raise SchemagateError(
                f"{self.settings.database} has no migrations applied, so php artisan migrate would first load "
                f"database/schema/{dumps[0]} with the mysql client, whose command line artisan gives the password: "
                "load that schema into the database yourself (it brings its migrations rows), then migrate."
            )

    def _pretend_up(self, step: bool) -> RunResult:
        plan = self.pending()
        next_batch = self._last_batch() + 1
        notes: List[str] = []
        sql: Dict[str, List[str]] = {}
        if plan and self.history.exists():
            sql = self._pretend("migrate", "--pretend", "--force")
        elif plan:
            notes.append(f"{self.settings.table} does not exist yet and artisan's --pretend would create it: the SQL is not shown")
        runs = [MigrationRun(m.name, Direction.UP, next_batch + (i if step else 0), sql.get(m.name, [])) for i, m in enumerate(plan)]
        return RunResult(bool(runs), runs, pretend=True, notes=notes)

    def _pretend(self, *args: str) -> Dict[str, List[str]]:
        done = self.artisan(*args)
        if done.returncode != 0:
            raise SchemagateError(f"php artisan {' '.join(args)} failed: {artisan_error(done.stdout, done.stderr, done.returncode)}")
        found: Dict[str, List[str]] = {}
        for line in done.stdout.splitlines():
            name, sep, query = line.partition(": ")
            if sep and name in self.migrations:
                found.setdefault(name, []).append(query.strip())
        return found

    def _up(self, migration: Migration, batch: int, done: List[MigrationRun]) -> MigrationRun:
        path = os.path.realpath(migration.up_path)
        command = ["migrate", "--force", f"--path={path}", "--realpath"]
        before = self._objects()
        with self.conn.cursor() as cur:
            self._journal_upsert(cur, migration, JournalState.RUNNING, Direction.UP, batch, 0, 1)
        started = time.monotonic()
        result = self.artisan(*command)
        seconds = time.monotonic() - started
        recorded = self._recorded()
        after = self._objects()
        if result.returncode != 0 or migration.name not in recorded:
            cause = (artisan_error(result.stdout, result.stderr, result.returncode) if result.returncode != 0 else
                     f"artisan exited 0 but {self.settings.database}.{self.settings.table} has no row for it: does the app's "
                     "config/database.php read DB_DATABASE, and its migrations table match migrations_table?")
            raise self._failed(migration, Direction.UP, cause, before, after, done, applied=migration.name in recorded)
        if recorded[migration.name] != batch:  # one run, one batch (artisan numbered this call on its own)
            with self.conn.cursor() as cur:
                cur.execute(f"UPDATE {self.history.quoted} SET batch = %s WHERE migration = %s", (batch, migration.name))
        match = _DURATION.search(result.stdout)
        run = MigrationRun(migration.name, Direction.UP, batch, ["php artisan " + " ".join(command)],
                           float(match.group("ms")) if match else seconds * 1000)
        run.created, run.removed = collapse(after - before), collapse(before - after)
        with self.conn.cursor() as cur:
            cur.execute(
                f"UPDATE {self._journal} SET state = %s, statements_done = 1, finished_at = NOW(6), duration_ms = %s, "
                "effect = NULL, error = NULL WHERE migration = %s",
                (JournalState.APPLIED.value, round(run.duration_ms, 1), migration.name),
            )
        return run

    # ---------------------------------------------------------------- rollback
    def rollback(self, steps: Optional[int] = None, pretend: bool = False) -> RunResult:
        if steps is not None and steps < 1:
            raise SchemagateError("steps must be a positive number of migrations to roll back.")
        if pretend:
            targets, notes = self._rollback_targets(steps)
            applied = [m for m, _batch, partial in targets if not partial]
            sql = self._pretend("migrate:rollback", "--pretend", "--force", f"--step={len(applied)}") if applied else {}
            runs = [MigrationRun(m.name, Direction.DOWN, b, self._undo_statements(m) if partial else sql.get(m.name, []))
                    for m, b, partial in targets]
            return RunResult(bool(runs), runs, pretend=True, notes=notes)
        with advisory_lock(self.conn, self.settings.database, self.settings.lock_timeout):
            self._ensure_tables()
            targets, notes = self._rollback_targets(steps)
            runs: List[MigrationRun] = []
            for migration, batch, partial in targets:
                if partial and migration.name not in self._recorded():  # a failed up: Laravel never recorded it
                    runs.append(self._undo_partial(migration))
                else:  # applied, or a down that stopped halfway (still recorded): artisan's down again
                    runs.append(self._down(migration, batch, runs))
            return RunResult(bool(runs), runs, notes=notes)

    def _down(self, migration: Migration, batch: Optional[int], done: List[MigrationRun]) -> MigrationRun:
        recorded = self._recorded()
        newest = sorted(recorded.items(), key=lambda item: (item[1] or 0, item[0]), reverse=True)
        if not newest or newest[0][0] != migration.name:
            raise SchemagateError(
                f"Cannot roll back {migration.name} with artisan: migrate:rollback --step=1 would undo "
                f"{newest[0][0] if newest else 'nothing'} first (Laravel undoes the newest batch, then the newest name)."
            )
        before = self._objects()
        with self.conn.cursor() as cur:
            self._journal_upsert(cur, migration, JournalState.REVERTING, Direction.DOWN, batch, 0, 1)
        started = time.monotonic()
        result = self.artisan("migrate:rollback", "--step=1", "--force")
        seconds = time.monotonic() - started
        after = self._objects()
        still = migration.name in self._recorded()
        if result.returncode != 0 or still:
            cause = (artisan_error(result.stdout, result.stderr, result.returncode) if result.returncode != 0
                     else f"artisan exited 0 but {migration.name} is still recorded in {self.settings.table}")
            raise self._failed(migration, Direction.DOWN, cause, before, after, done, applied=still)
        with self.conn.cursor() as cur:
            cur.execute(f"DELETE FROM {self._journal} WHERE migration = %s", (migration.name,))
        match = _DURATION.search(result.stdout)
        run = MigrationRun(migration.name, Direction.DOWN, batch, ["php artisan migrate:rollback --step=1 --force"],
                           float(match.group("ms")) if match else seconds * 1000)
        run.created, run.removed = collapse(after - before), collapse(before - after)
        return run

    def _failed(self, migration: Migration, direction: Direction, cause: str, before: Set[str], after: Set[str],
                done: List[MigrationRun], applied: bool) -> MigrationFailed:
        """Journal and describe a failed artisan call: what the migration left behind, as the SQL runner does."""
        created, removed = collapse(after - before), collapse(before - after)
        changed = bool(created or removed)
        up = direction == Direction.UP
        if up:
            state, done_count = JournalState.FAILED, 1 if changed else 0
        else:
            state, done_count = (JournalState.REVERT_FAILED if changed else JournalState.APPLIED), 0
        with self.conn.cursor() as cur:
            cur.execute(
                f"UPDATE {self._journal} SET state = %s, statements_done = %s, error = %s, effect = %s WHERE migration = %s",
                (state.value, done_count, cause[:2000], _effect_json(created, removed) if up else None, migration.name),
            )
        verb = "created" if up else "removed"
        left = created if up else removed
        if up:
            effect = (f"it had created {', '.join(left)} before the error: that is its partial state (status says partial; "
                      "command=rollback drops it)" if changed else "it changed nothing, so it is pending again: fix it and migrate again")
        else:
            effect = (f"it had {verb} {', '.join(left) or 'nothing'} and changed {', '.join(created) or 'nothing else'} before the error"
                      if changed else "it changed nothing, so the migration is still applied: fix its down and roll back again")
        earlier = ""
        if done:
            made = sorted({o for r in done for o in (r.created if up else r.removed)})
            earlier = f" Before it, this run completed {len(done)} migration(s)" + (f" ({verb}: {', '.join(made[:8])})" if made else "") + "."
        recorded = "recorded as applied" if up else "rolled back"
        message = (f"Migration {migration.name} ({direction.value}) failed in php artisan "
                   f"{'migrate' if up else 'migrate:rollback'} ({migration.up_path}): {cause}. "
                   f"It is {'' if (applied and up) or (not applied and not up) else 'not '}{recorded}; {effect}.{earlier}")
        return MigrationFailed(message, {
            "failed_migration": migration.name, "direction": direction.value, "failed_file": migration.up_path,
            "error": cause, "created_objects": created, "removed_objects": removed,
            "completed": [run.brief() for run in done],
        })

    # --------------------------------------------------- a failed up's leftovers
    def _leftovers(self, migration: Migration) -> List[str]:
        entry = self._journal_rows().get(migration.name)
        if entry is None or entry.effect is None:
            raise SchemagateError(
                f"Migration {migration.name} stopped in artisan and schemagate does not know what it left (no record of its "
                "effect): compare the schema with the migration, undo by hand, then delete its row from "
                f"{self.settings.journal_table}."
            )
        current = self._objects()
        return [o for o in entry.effect.get("created", []) if o in current]

    def _undo_statements(self, migration: Migration) -> List[str]:
        """DROPs for what a failed up created: triggers, routines, views, foreign keys, indexes, columns, then tables."""
        order = ("trigger ", "event ", "procedure ", "function ", "view ", "foreign key ", "index ", "column ", "table ")
        statements: List[str] = []
        leftovers = self._leftovers(migration)
        for prefix in order:
            for item in leftovers:
                if not item.startswith(prefix):
                    continue
                name = item[len(prefix):]
                table, _dot, part = name.partition(".")
                kind = prefix.strip().upper()
                if prefix in ("foreign key ", "index ", "column "):
                    clause = {"foreign key ": "FOREIGN KEY", "index ": "INDEX", "column ": "COLUMN"}[prefix]
                    statements.append(f"ALTER TABLE {quote_identifier(table)} DROP {clause} {quote_identifier(part)}")
                else:
                    statements.append(f"DROP {kind} {quote_identifier(name)}")
        return statements

    def _undo_partial(self, migration: Migration) -> MigrationRun:
        before = self._objects()
        statements = self._undo_statements(migration)
        started = time.monotonic()
        try:
            with self.conn.cursor() as cur:
                cur.execute("SET SESSION foreign_key_checks = 0")  # tables the failed up created may reference each other
                try:
                    for sql in statements:
                        cur.execute(sql)
                finally:
                    cur.execute("SET SESSION foreign_key_checks = 1")
        except MySQLError as exc:
            raise SchemagateError(f"Dropping what the failed up of {migration.name} created failed ({exc}); "
                                  "undo the rest by hand, then run rollback again.") from None
        entry = self._journal_rows()[migration.name]
        after = self._objects()
        left = _effect_left(entry.effect, after)
        if left:
            raise SchemagateError(
                f"Dropped what the failed up of {migration.name} created, but it also removed objects it never restored: "
                f"{', '.join(left)}: restore those by hand (or from the backup), then run rollback again.",
                {"remaining_objects": left},
            )
        with self.conn.cursor() as cur:
            cur.execute(f"DELETE FROM {self._journal} WHERE migration = %s", (migration.name,))
        run = MigrationRun(migration.name, Direction.DOWN, None, statements, (time.monotonic() - started) * 1000)
        run.removed = collapse(before - after)
        return run


def _effect_json(created: List[str], removed: List[str]) -> str:
    return json.dumps({"created": created, "removed": removed})


def with_artisan_sql(conn: Any, settings: RunnerSettings, migrations: Sequence[Migration],
                     wanted: Sequence[Migration]) -> List[Migration]:
    """``wanted`` (pending PHP migrations) with the SQL ``php artisan migrate --pretend`` prints for them as their up.

    What the lint, the data probes and the DDL probes read: statement N of a PHP migration is the Nth query
    artisan would run for it (its "line" in findings). Only reads (``--pretend`` executes none of the
    migrations' statements); on a database without Laravel's table nothing is asked of artisan, which would
    create the table even when pretending, and the migrations keep no statements.
    """
    if settings.source != LARAVEL_SOURCE or not wanted:
        return list(wanted)
    runner = ArtisanRunner(conn, settings, migrations)
    if not runner.history.exists():
        return list(wanted)
    sql = runner._pretend("migrate", "--pretend", "--force")
    return [dataclasses.replace(m, up=tuple(Statement(q, i) for i, q in enumerate(sql.get(m.name, []), 1))) for m in wanted]


def runner_for(conn: Any, settings: RunnerSettings, migrations: Sequence[Migration],
               statement_hook: Optional[StatementHook] = None, stop: Optional[StopWatch] = None) -> MigrationRunner:
    """The runner of the set's source: SQL statements run by schemagate, or a Laravel app's migrations by artisan.

    ``stop`` (interrupts) is honoured by the SQL runner only: artisan runs in a child process of its own."""
    if settings.source == LARAVEL_SOURCE:
        return ArtisanRunner(conn, settings, migrations)
    return MigrationRunner(conn, settings, migrations, statement_hook=statement_hook, stop=stop)


__all__ = ["APPLIED", "ArtisanRunner", "LARAVEL_SOURCE", "SOURCES", "SQL_SOURCE", "read_laravel_app", "runner_for", "with_artisan_sql"]
