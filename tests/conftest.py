"""Fixtures: the real sandbox server, and throwaway databases on it.

Tests never mock the database: they run against the private sandbox instance
(scripts/sandbox), each in databases of its own that are dropped afterwards.
"""
from __future__ import annotations

import os
import shutil
import signal
from typing import Iterator, List

import pytest

from helpers import BASE_SCHEMA_SQL, MIGRATIONS_DIR, PRODUCTION_DB, REPO, create_database, create_production, drop_database, process_tree

from plugins.module_utils.core.bookkeeping import BOOKKEEPING_TABLES
from plugins.module_utils.core.catalog import read_tables
from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.core.dialect import detect_server
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.runner import MigrationRunner, RunnerSettings
from plugins.module_utils.sandbox import sandbox


@pytest.fixture(scope="session")
def sandbox_cfg() -> sandbox.SandboxConfig:
    root = os.environ.get("SCHEMAGATE_SANDBOX_DIR", os.path.join(REPO, ".sandbox"))
    cfg = sandbox.SandboxConfig(root=os.path.abspath(root), port=int(os.environ.get("SCHEMAGATE_SANDBOX_PORT", "3417")))
    sandbox.start(cfg)
    sandbox.ensure_production(cfg, PRODUCTION_DB, BASE_SCHEMA_SQL)
    return cfg


@pytest.fixture(scope="session")
def admin(sandbox_cfg):
    conn = connect(sandbox_cfg.admin_params())
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def server(admin):
    return detect_server(admin)


@pytest.fixture
def database(admin) -> Iterator[str]:
    """A fresh database holding the base tables (no Phase B tables, no migrations table)."""
    name = create_database(admin)
    yield name
    drop_database(admin, name)


@pytest.fixture
def production(admin):
    """A small production-like database: base tables with sample rows, nothing migrated yet."""
    name = create_production(admin)
    yield name
    drop_database(admin, name)


@pytest.fixture
def connection_to(sandbox_cfg):
    """Factory of extra connections (closed at teardown), e.g. a second concurrent deploy."""
    opened: List = []

    def factory(database: str):
        conn = connect(sandbox_cfg.admin_params(), database)
        opened.append(conn)
        return conn

    yield factory
    for conn in opened:
        try:
            conn.close()
        except Exception:  # already closed by the test
            pass


@pytest.fixture
def runner_for(connection_to):
    def factory(database: str, migrations_dir: str = MIGRATIONS_DIR, **settings) -> MigrationRunner:
        conn = connection_to(database)
        return MigrationRunner(conn, RunnerSettings(database=database, **settings), load_migrations(migrations_dir))

    return factory


@pytest.fixture
def migrations_copy(tmp_path) -> str:
    """A writable copy of the shipped migrations directory."""
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, target)
    return str(target)


@pytest.fixture
def tables_of(admin, server):
    """The application's tables of a database (the runner's bookkeeping tables only when asked)."""

    def read(database: str, only=None, bookkeeping: bool = False):
        exclude = () if bookkeeping else BOOKKEEPING_TABLES
        return read_tables(admin, database, server, only, exclude)

    return read


@pytest.fixture
def started_deploys():
    """Background ansible-playbook processes a test started (helpers.start_deploy): killed with their workers and
    modules at teardown if a failed assertion left them running."""
    started: List = []
    yield started
    for process in started:
        if process.poll() is None:
            for pid in process_tree(process.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait(timeout=30)


@pytest.fixture
def deploy_params(sandbox_cfg) -> ConnectionParams:
    """The deploy account with its password in memory (so the option file has one to protect)."""
    def option(key: str) -> str:
        return sandbox.read_option(sandbox_cfg.deploy_cnf, key)

    return ConnectionParams(user=option("user"), password=option("password"), host=option("host"), port=int(option("port")))
