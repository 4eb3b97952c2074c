"""The options every module that reads a migration set shares: where, which format, whose history.

Documented once in the doc fragment ``schemagate.mysql.migration_set``; the
modules merge ``MIGRATION_SET_ARGUMENT_SPEC`` into their own spec and call
``load_set``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

from .formats import AUTO, FORMATS, detect_format
from .migration import Migration
from .migration_files import load_migrations
from .runner import RunnerSettings

MIGRATION_SET_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "migrations_dir": {"type": "path", "required": True},
    "format": {"type": "str", "default": AUTO, "choices": [AUTO, *FORMATS]},
    "history": {"type": "str", "default": AUTO, "choices": [AUTO, *FORMATS]},
    "migrations_table": {"type": "str"},
    "sql_mode": {"type": "str"},
}


def load_set(params: Mapping[str, Any], database: str, **settings: Any) -> Tuple[RunnerSettings, List[Migration]]:
    """The runner settings and the migrations that ``params`` (a module's parameters) describe."""
    migration_format = params.get("format") or AUTO
    if migration_format == AUTO:
        migration_format = detect_format(params["migrations_dir"])
    migrations = load_migrations(params["migrations_dir"], migration_format)
    history = params.get("history") or AUTO
    resolved = RunnerSettings(
        database=database,
        migrations_table=params.get("migrations_table") or None,
        history=migration_format if history == AUTO else history,
        sql_mode=params.get("sql_mode") or None,
        **settings,
    )
    return resolved, migrations
