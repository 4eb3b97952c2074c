"""The options every module that reads a migration set shares: where, which format, whose history.

Documented once in the doc fragment ``schemagate.mysql.migration_set``; the
modules merge ``MIGRATION_SET_ARGUMENT_SPEC`` into their own spec and call
``load_set``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

from ..core.errors import SchemagateError
from .formats import AUTO, FORMATS, LARAVEL, detect_format
from .laravel import LARAVEL_SOURCE, SOURCES, SQL_SOURCE, read_laravel_app, tls_environment
from .migration import Migration
from .migration_files import load_migrations
from .runner import RunnerSettings

MIGRATION_SET_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "migrations_dir": {"type": "path"},
    "source": {"type": "str", "default": SQL_SOURCE, "choices": list(SOURCES)},
    "laravel_app": {"type": "path"},
    "format": {"type": "str", "default": AUTO, "choices": [AUTO, *FORMATS]},
    "history": {"type": "str", "default": AUTO, "choices": [AUTO, *FORMATS]},
    "migrations_table": {"type": "str"},
    "sql_mode": {"type": "str"},
}


def load_set(params: Mapping[str, Any], database: str, **settings: Any) -> Tuple[RunnerSettings, List[Migration]]:
    """The runner settings and the migrations that ``params`` (a module's parameters) describe."""
    if (params.get("source") or SQL_SOURCE) == LARAVEL_SOURCE:
        history = params.get("history") or AUTO
        if history not in (AUTO, LARAVEL):
            raise SchemagateError(f"source=laravel records in Laravel's own migrations table: history {history!r} does not apply.")
        resolved = RunnerSettings(
            database=database, migrations_table=params.get("migrations_table") or None, history=LARAVEL,
            source=LARAVEL_SOURCE, laravel_app=params.get("laravel_app"), laravel_tls=tls_environment(params), **settings,
        )
        return resolved, read_laravel_app(params.get("laravel_app"))
    if not params.get("migrations_dir"):
        raise SchemagateError("migrations_dir is required (the folder of migration files), or source=laravel with laravel_app.")
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
