"""Fixtures: the real sandbox server, and throwaway databases on it.

Tests never mock the database: they run against the private sandbox instance
(scripts/sandbox), each in databases of its own that are dropped afterwards.
"""
from __future__ import annotations

import os
import shutil
import sys
import uuid
from typing import Iterator, List

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from plugins.module_utils.sandbox import sandbox  # noqa: E402
from plugins.module_utils.core.bookkeeping import BOOKKEEPING_TABLES  # noqa: E402
from plugins.module_utils.core.catalog import read_tables  # noqa: E402
from plugins.module_utils.core.schema_model import Tables, tables_from_dict  # noqa: E402
from plugins.module_utils.core.connection import connect  # noqa: E402
from plugins.module_utils.core.dialect import detect_server  # noqa: E402
from plugins.module_utils.migrate.migration_files import load_migrations  # noqa: E402
from plugins.module_utils.migrate.runner import MigrationRunner, RunnerSettings  # noqa: E402
from plugins.module_utils.core.sql_script import split_statements  # noqa: E402

MIGRATIONS_DIR = os.path.join(REPO, "migrations")
BASE_SCHEMA_SQL = os.path.join(REPO, "sql", "base_schema.sql")
PRODUCTION_DB = "askproai_db"
# Scratch databases live under production's name + _sg_, where the deploy account has rights.
SCRATCH_PREFIX = f"{PRODUCTION_DB}_sg_test_"


def load_yaml(name: str):
    with open(os.path.join(REPO, "expectations", name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_structure(name: str) -> Tables:
    """A structure file of expectations/ as the typed model (what catalog.read_tables returns)."""
    return tables_from_dict(load_yaml(name), name)


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


def create_database(admin, with_base_tables: bool = True) -> str:
    name = SCRATCH_PREFIX + uuid.uuid4().hex[:10]
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        if with_base_tables:
            cur.execute(f"USE `{name}`")
            with open(BASE_SCHEMA_SQL, encoding="utf-8") as handle:
                for statement in split_statements(handle.read()):
                    cur.execute(statement.sql)
    return name


def drop_database(admin, name: str) -> None:
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def database(admin) -> Iterator[str]:
    """A fresh database holding the base tables (no Phase B tables, no migrations table)."""
    name = create_database(admin)
    yield name
    drop_database(admin, name)


def create_production(admin) -> str:
    """A small production-like database: base tables with sample rows, nothing migrated yet."""
    from plugins.module_utils.sandbox.sample_data import SampleScale, seed_base_data

    name = create_database(admin)
    with admin.cursor() as cur:
        cur.execute(f"USE `{name}`")
    seed_base_data(admin, SampleScale.scaled(0.01))
    return name


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
