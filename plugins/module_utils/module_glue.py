"""What every schemagate module does the same way: argument spec, connection, failure.

Takes the AnsibleModule as a plain object (no Ansible import) so modules stay a
few lines of argument parsing around a call into the core.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Optional, Tuple

from .connection import CONNECTION_ARGUMENT_SPEC, PYMYSQL_MISSING, ConnectionParams, connect
from .dialect import ServerInfo, detect_server
from .errors import SchemagateError


def argument_spec(**options: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    spec = copy.deepcopy(CONNECTION_ARGUMENT_SPEC)
    spec.update(options)
    return spec


def open_connection(module: Any, database: Optional[str] = None) -> Tuple[Any, ServerInfo]:
    conn = connect(ConnectionParams.from_module_params(module.params), database)
    return conn, detect_server(conn)


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
