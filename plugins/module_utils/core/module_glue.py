"""What every schemagate module does the same way: argument spec, connection, failure.

Takes the AnsibleModule as a plain object (no Ansible import) so modules stay a
few lines of argument parsing around a call into the core.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple

from .checks import CheckResult, failures, summary_line
from .connection import CONNECTION_ARGUMENT_SPEC, ConnectionParams, PYMYSQL_MISSING, connect
from .dialect import ServerInfo, detect_server
from .errors import SchemagateError


def argument_spec(**options: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    spec = copy.deepcopy(CONNECTION_ARGUMENT_SPEC)
    spec.update(options)
    return spec


# Options naming a server: a target without any of them is production's server.
_WHERE = ("login_host", "login_port", "login_unix_socket", "config_file")


def target_argument_spec() -> Dict[str, Any]:
    """The ``target`` option: a second connection (the rehearsal server), named as the connection options are."""
    return dict(type="dict", options=copy.deepcopy(CONNECTION_ARGUMENT_SPEC))


def target_params(module: Any, option: str = "target") -> ConnectionParams:
    """The connection ``option`` names; a target naming no server is the module's own with target's options over it."""
    target = module.params.get(option)
    if not target:
        return ConnectionParams.from_module_params(module.params)
    if any(target.get(key) for key in _WHERE):
        return ConnectionParams.from_module_params(target)
    merged = dict(module.params)
    merged.update({key: value for key, value in target.items() if value is not None})
    return ConnectionParams.from_module_params(merged)


@contextmanager
def target_connection(module: Any, option: str = "target") -> Iterator[Tuple[Any, ServerInfo]]:
    conn = connect(target_params(module, option))
    try:
        yield conn, detect_server(conn)
    finally:
        conn.close()


def open_connection(module: Any, database: Optional[str] = None) -> Tuple[Any, ServerInfo]:
    conn = connect(ConnectionParams.from_module_params(module.params), database)
    return conn, detect_server(conn)


@contextmanager
def connection(module: Any, database: Optional[str] = None) -> Iterator[Tuple[Any, ServerInfo]]:
    """An open connection and its server, closed when the block ends."""
    conn, server = open_connection(module, database)
    try:
        yield conn, server
    finally:
        conn.close()


def checks_result(results: Sequence[CheckResult], server: ServerInfo, changed: bool = False, **extra: Any) -> Dict[str, Any]:
    """What every checking module returns: the verdict, a one-line summary and each check."""
    return dict(
        changed=changed,
        passed=not failures(results),
        summary=summary_line(results),
        checks=[result.as_dict() for result in results],
        server=server_facts(server),
        **extra,
    )


def server_facts(server: ServerInfo) -> Dict[str, Any]:
    return {"flavor": server.flavor, "version": server.version_string, "label": server.label}


def run(module: Any, missing_lib_message: str, body: Callable[[], Dict[str, Any]]) -> None:
    """Call ``body`` and exit with its result; any SchemagateError becomes one fail_json line."""
    if PYMYSQL_MISSING:
        module.fail_json(msg=missing_lib_message)
    try:
        result = body()
    except SchemagateError as exc:
        module.fail_json(msg=exc.message, **exc.details)
    else:
        module.exit_json(**result)
