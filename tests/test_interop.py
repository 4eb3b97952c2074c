"""schemagate and the teams' own tools on the same database, both directions, each tool's own status agreeing.

- dbmate (the real binary, from the npm package `./run install` puts in .tools/): dbmate migrates part of
  tests/corpus/dbmate, schemagate the rest, `dbmate status` agrees; then schemagate rolls back, dbmate migrates
  again, and schemagate's status agrees.
- Laravel's artisan (Debian's php-laravel-framework, the small app in tests/fixtures/laravel_app): artisan runs
  the PHP migrations, schemagate their SQL twins, `php artisan migrate:status` agrees; and back.

Passwords reach the tools through their environment only (DATABASE_URL, DB_PASSWORD), never argv.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.parse

import pytest

from helpers import REPO, admin_credentials, create_database, drop_database
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.runner import APPLIED, PENDING, MigrationRunner, RunnerSettings

DBMATE = os.path.join(REPO, ".tools", "node_modules", ".bin", "dbmate")
LARAVEL_APP = os.path.join(REPO, "tests", "fixtures", "laravel_app")
DBMATE_CORPUS = os.path.join(REPO, "tests", "corpus", "dbmate")


@pytest.fixture
def empty_database(admin):
    name = create_database(admin, with_base_tables=False)
    yield name
    drop_database(admin, name)


def run_tool(argv, env, cwd=None):
    done = subprocess.run(argv, env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{argv[:3]} failed: {done.stdout[-800:]} {done.stderr[-800:]}"
    return done.stdout


# ---------------------------------------------------------------------------------------------- dbmate
@pytest.fixture
def dbmate(sandbox_cfg):
    if not os.access(DBMATE, os.X_OK):
        pytest.skip("dbmate is not installed: run ./run install")
    creds = admin_credentials(sandbox_cfg)

    def call(database, directory, *command):
        url = "mysql://{}:{}@127.0.0.1:{}/{}".format(
            urllib.parse.quote(creds["user"], safe=""), urllib.parse.quote(creds["password"], safe=""), sandbox_cfg.port, database
        )
        return run_tool([DBMATE, "--no-dump-schema", "--migrations-dir", directory, *command], {"DATABASE_URL": url})

    return call


def dbmate_status(output):
    """{file name: applied?} from `dbmate status`."""
    return {m.group(2): m.group(1) == "X" for m in re.finditer(r"^\[( |X)\] (\S+)$", output, re.MULTILINE)}


def test_dbmate_and_schemagate_share_one_history_both_ways(dbmate, empty_database, connection_to, tmp_path):
    files = sorted(os.listdir(DBMATE_CORPUS))
    first_half = tmp_path / "first_half"
    first_half.mkdir()
    for name in files[:4]:
        shutil.copy(os.path.join(DBMATE_CORPUS, name), first_half / name)
    dbmate(empty_database, str(first_half), "up")  # the tool migrates part

    migrations = load_migrations(DBMATE_CORPUS)
    runner = MigrationRunner(connection_to(empty_database), RunnerSettings(database=empty_database), migrations)
    before = {s.migration: s.state for s in runner.status()}
    assert [before[m.name] for m in migrations] == [APPLIED] * 4 + [PENDING] * 4  # dbmate's history adopted exactly
    assert runner.migrate().names == [m.name for m in migrations[4:]]  # schemagate the rest
    assert dbmate_status(dbmate(empty_database, DBMATE_CORPUS, "status")) == {name: True for name in files}

    assert runner.rollback(steps=2).names == [m.name for m in reversed(migrations[-2:])]
    assert dbmate_status(dbmate(empty_database, DBMATE_CORPUS, "status")) == {name: i < 6 for i, name in enumerate(files)}
    dbmate(empty_database, DBMATE_CORPUS, "up")  # and back: the tool finishes what schemagate undid
    assert {s.state for s in runner.status()} == {APPLIED}
    dbmate(empty_database, DBMATE_CORPUS, "rollback")
    states = {s.migration: s.state for s in runner.status()}
    assert states[migrations[-1].name] == PENDING and states[migrations[-2].name] == APPLIED
    assert runner.migrate().names == [migrations[-1].name]


# ---------------------------------------------------------------------------------------------- artisan
@pytest.fixture
def artisan(sandbox_cfg, tmp_path):
    if shutil.which("php") is None or not os.path.isdir("/usr/share/php/Illuminate"):
        pytest.skip("PHP and php-laravel-framework are not installed: run ./run install")
    creds = admin_credentials(sandbox_cfg)

    def call(database, *command):
        env = {
            "DB_SOCKET": sandbox_cfg.socket, "DB_DATABASE": database, "DB_USERNAME": creds["user"],
            "DB_PASSWORD": creds["password"], "LARAVEL_RUNTIME_DIR": str(tmp_path / "laravel"),
        }
        return run_tool(["php", "artisan", *command, "--no-interaction", "--no-ansi"], env, cwd=LARAVEL_APP)

    return call


def artisan_status(output):
    """{migration: (ran?, batch)} from `php artisan migrate:status`."""
    found = {}
    for match in re.finditer(r"^\|\s*(Yes|No)\s*\|\s*(\S+)\s*\|\s*(\d*)\s*\|$", output, re.MULTILINE):
        found[match.group(2)] = (match.group(1) == "Yes", int(match.group(3)) if match.group(3) else None)
    return found


def test_artisan_and_schemagate_share_one_history_both_ways(artisan, empty_database, connection_to):
    names = sorted(f[:-4] for f in os.listdir(os.path.join(LARAVEL_APP, "database", "migrations")))
    artisan(empty_database, "migrate", "--force", f"--path=database/migrations/{names[0]}.php")  # the app migrates part

    runner = MigrationRunner(connection_to(empty_database), RunnerSettings(database=empty_database),
                             load_migrations(os.path.join(LARAVEL_APP, "database", "sql")))
    assert [s.state for s in runner.status()] == [APPLIED, PENDING, PENDING]  # Laravel's own table, adopted
    assert runner.migrate().names == names[1:]  # schemagate the rest, as batch 2
    assert artisan_status(artisan(empty_database, "migrate:status")) == {names[0]: (True, 1), names[1]: (True, 2), names[2]: (True, 2)}

    assert runner.rollback().names == [names[2], names[1]]  # schemagate undoes its batch
    expected = {names[0]: (True, 1), names[1]: (False, None), names[2]: (False, None)}
    assert artisan_status(artisan(empty_database, "migrate:status")) == expected
    artisan(empty_database, "migrate", "--force")  # and back: artisan runs what schemagate undid
    assert [(s.state, s.batch) for s in runner.status()] == [(APPLIED, 1), (APPLIED, 2), (APPLIED, 2)]
    artisan(empty_database, "migrate:rollback", "--force")
    assert [s.state for s in runner.status()] == [APPLIED, PENDING, PENDING]
    assert runner.migrate().names == names[1:]
