"""Hand an annotated ALTER to an online schema change tool (pt-online-schema-change), like Skeema's --alter-wrapper.

A statement the migration marks ``-- schemagate:alter-wrapper <reason>`` is not
run natively: the runner calls this hook (``MigrationRunner(statement_hook=...)``),
which renders the configured command template and runs it without a shell. The
template's placeholders:

- ``{CLAUSES}``: the ALTER's specification list without ALGORITHM/LOCK (pt-osc's ``--alter``);
- ``{SCHEMA}``, ``{TABLE}``: the database and the table;
- ``{DEFAULTS_FILE}``: a 0600 option file holding the connection's user, password, host, port or socket,
  ``/dev/fd/N``: an in-memory file (memfd) the tool inherits, never on disk and gone with the processes
  holding it (elsewhere than Linux, a file in a 0700 directory, removed afterwards, even on failure); pass
  it as ``F=`` in pt-osc's DSN or as ``--defaults-file``. Credentials are never on argv: there is no ``{PASSWORD}``;
- ``{HOST}``, ``{PORT}``, ``{SOCKET}``, ``{USER}``, ``{LOCK_WAIT_TIMEOUT}``.

Each placeholder is one argv element's text, substituted after splitting, so a
clause with spaces or quotes needs no shell quoting. Afterwards the table must
have changed and the tool's triggers and shadow table must be gone; otherwise the
statement fails like any other (the runner reports it and the migration stays unapplied).
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..core.annotations import attach, find_annotations, read_file_text, wants_alter_wrapper
from ..core.connection import ConnectionParams, MySQLError, error_text, quote_identifier
from ..core.errors import SchemagateError
from ..core.option_file import quote_value
from ..core.sql_parse import ALTER_TABLE, CREATE_INDEX, DROP_INDEX_STATEMENT, CannotRewrite, alter_clauses, parse_statement
from ..core.sql_script import Statement

PT_ONLINE_SCHEMA_CHANGE = "pt-online-schema-change"
PT_OSC_TEMPLATE = (
    "pt-online-schema-change --noversion-check --recursion-method=none --set-vars lock_wait_timeout={LOCK_WAIT_TIMEOUT} "
    "--alter {CLAUSES} --execute F={DEFAULTS_FILE},D={SCHEMA},t={TABLE}"
)
PLACEHOLDERS = ("CLAUSES", "SCHEMA", "TABLE", "DEFAULTS_FILE", "HOST", "PORT", "SOCKET", "USER", "LOCK_WAIT_TIMEOUT")


def resolve_template(template: str) -> str:
    """The command template: the built-in one for ``pt-online-schema-change``, else ``template`` checked."""
    template = (template or "").strip()
    if template == PT_ONLINE_SCHEMA_CHANGE:
        return PT_OSC_TEMPLATE
    if "{PASSWORD" in template.upper():
        raise SchemagateError("alter_wrapper must not put the password on the command line: use F={DEFAULTS_FILE} "
                              "(pt-osc) or --defaults-file={DEFAULTS_FILE}.")
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise SchemagateError(f"alter_wrapper is not a valid command line ({exc}).") from None
    if not words:
        raise SchemagateError("alter_wrapper is empty: give a command template or 'pt-online-schema-change'.")
    for word in words:
        for name in _placeholders_in(word):
            if name not in PLACEHOLDERS:
                raise SchemagateError(f"alter_wrapper uses an unknown placeholder {{{name}}}; known: "
                                      + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + ".")
    if "{CLAUSES}" not in template or "{TABLE}" not in template:
        raise SchemagateError("alter_wrapper must pass {CLAUSES} and {TABLE} to the tool.")
    return template


def _placeholders_in(word: str) -> List[str]:
    found, start = [], word.find("{")
    while start >= 0:
        end = word.find("}", start)
        if end < 0:
            break
        found.append(word[start + 1:end])
        start = word.find("{", end)
    return found


def render(template: str, values: Dict[str, str]) -> List[str]:
    """argv for the tool: split the template like a shell would, then fill each word's placeholders."""
    argv = []
    for word in shlex.split(template):
        for name, value in values.items():
            word = word.replace("{" + name + "}", value)
        argv.append(word)
    return argv


@contextmanager
def defaults_file(params: ConnectionParams) -> Iterator[Tuple[str, Tuple[int, ...]]]:
    """A [client] option file with the connection's credentials, and the descriptors the tool must inherit.

    On Linux an anonymous in-memory 0600 file (``memfd_create``) the tool opens as ``/dev/fd/N``: never on disk,
    gone with the last process holding it, even after a kill. Elsewhere a 0600 file in a 0700 directory,
    removed afterwards (even on failure).
    """
    lines = []
    if params.config_file:
        lines.append(f"!include {os.path.abspath(params.config_file)}")
    lines.append("[client]")
    for key, value in (("user", params.user), ("password", params.password), ("host", params.host),
                       ("port", params.port), ("socket", params.unix_socket), ("ssl-ca", params.ca_cert),
                       ("ssl-cert", params.client_cert), ("ssl-key", params.client_key)):
        if value not in (None, ""):
            lines.append(f"{key}={quote_value(value)}")
    data = ("\n".join(lines) + "\n").encode("utf-8")
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        fd = memfd_create("schemagate-client-cnf")  # close-on-exec: only the tool inherits it, via pass_fds
        try:
            os.fchmod(fd, 0o600)  # memfds start 0777; client libraries may ignore a world-writable option file
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            yield f"/dev/fd/{fd}", (fd,)
        finally:
            os.close(fd)
        return
    directory = tempfile.mkdtemp(prefix="schemagate-wrapper-")
    os.chmod(directory, 0o700)
    path = os.path.join(directory, "client.cnf")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield path, ()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class AlterWrapper:
    """The runner's statement hook: runs ``alter-wrapper``-annotated statements through the tool."""

    def __init__(self, template: str, params: ConnectionParams, conn: Any, database: str,
                 lock_wait_timeout: int = 5, timeout: int = 24 * 3600) -> None:
        self.template = resolve_template(template)
        self.params, self.conn, self.database = params, conn, database
        self.lock_wait_timeout, self.timeout = lock_wait_timeout, timeout
        self._annotations: Dict[Tuple[str, str], Dict[int, Any]] = {}
        self.runs: List[Dict[str, Any]] = []  # what the tool did, for the module's result

    def __call__(self, migration: Any, direction: str, statement: Statement) -> bool:
        annotation = self._annotation(migration, direction, statement)
        if annotation is None:
            return False
        parsed = parse_statement(statement.sql)
        if parsed.kind not in (ALTER_TABLE, CREATE_INDEX, DROP_INDEX_STATEMENT) or parsed.table is None:
            raise SchemagateError(f"{migration.name} line {statement.line}: schemagate:alter-wrapper is only for ALTER "
                                  "TABLE (and CREATE/DROP INDEX); remove the annotation.")
        try:
            clauses = alter_clauses(parsed)
        except CannotRewrite as exc:
            raise SchemagateError(f"{migration.name} line {statement.line}: {exc}; remove the alter-wrapper annotation.") from None
        schema = parsed.table.schema or self.database
        self._run_tool(migration, statement, schema, parsed.table.name, clauses)
        return True

    def _annotation(self, migration: Any, direction: str, statement: Statement) -> Optional[Any]:
        key = (migration.name, direction)
        if key not in self._annotations:
            path = migration.path(direction)
            statements = list(migration.statements(direction))
            attached, _loose = attach(find_annotations(read_file_text(path)), statements)
            self._annotations[key] = {statements[i].line: wants_alter_wrapper(found) for i, found in attached.items()}
        return self._annotations[key].get(statement.line)

    def _run_tool(self, migration: Any, statement: Statement, schema: str, table: str, clauses: str) -> None:
        before = self._definition(schema, table)
        with defaults_file(self.params) as (path, pass_fds):
            values = {"CLAUSES": clauses, "SCHEMA": schema, "TABLE": table, "DEFAULTS_FILE": path,
                      "HOST": self.params.host or "", "PORT": str(self.params.port or ""), "SOCKET": self.params.unix_socket or "",
                      "USER": self.params.user or "", "LOCK_WAIT_TIMEOUT": str(self.lock_wait_timeout)}
            argv = render(self.template, values)
            if shutil.which(argv[0]) is None:
                raise SchemagateError(f"The alter wrapper {argv[0]} is not installed on the host running the migration "
                                      "(Debian/Ubuntu: apt-get install percona-toolkit; ./run install does it).")
            started = time.monotonic()
            try:
                done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=self.timeout, pass_fds=pass_fds,
                                      check=False)
            except subprocess.TimeoutExpired:
                raise SchemagateError(f"{argv[0]} did not finish altering {schema}.{table} within {self.timeout} s") from None
        seconds = time.monotonic() - started
        output = self._scrub((done.stdout or "") + (done.stderr or ""))
        self.runs.append({"migration": migration.name, "line": statement.line, "table": f"{schema}.{table}",
                          "tool": argv[0], "exit_code": done.returncode, "seconds": round(seconds, 3),
                          "output_tail": output.strip().splitlines()[-5:]})
        if done.returncode != 0:
            raise SchemagateError(f"{argv[0]} exited {done.returncode} altering {schema}.{table}: {_last_line(output)}")
        leftovers = self._leftovers(schema, table)
        if leftovers:
            raise SchemagateError(f"{argv[0]} reported success but left {', '.join(leftovers)} on {schema}: drop them, "
                                  "then run the migration again")
        if self._definition(schema, table) == before:
            raise SchemagateError(f"{argv[0]} reported success but {schema}.{table} did not change: {_last_line(output)}")

    def _definition(self, schema: str, table: str) -> str:
        try:
            with self.conn.cursor() as cur:
                cur.execute(f"SHOW CREATE TABLE {quote_identifier(schema)}.{quote_identifier(table)}")
                return str(cur.fetchone()[1])
        except MySQLError as exc:
            raise SchemagateError(f"Cannot read {schema}.{table} around the alter wrapper: {error_text(exc)}") from None

    def _leftovers(self, schema: str, table: str) -> List[str]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME IN (%s, %s)",
                        (schema, f"_{table}_new", f"_{table}_old"))
            found = [f"table {row[0]}" for row in cur.fetchall()]
            cur.execute("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s AND "
                        "EVENT_OBJECT_TABLE = %s AND TRIGGER_NAME LIKE 'pt\\_osc\\_%%'", (schema, table))
            found += [f"trigger {row[0]}" for row in cur.fetchall()]
        return found

    def _scrub(self, text: str) -> str:
        return text.replace(self.params.password, "********") if self.params.password else text


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    meaningful = [line for line in lines if not line.startswith(("#", "Operation,", "Altering", "Creating", "Created"))]
    return (meaningful or lines or ["no output"])[-1][:300]
