"""A Laravel application's own PHP migrations, gated and deployed through artisan (source: laravel).

The app is tests/fixtures/laravel_phase_b: the worked example's six migrations written with Laravel's Schema
builder. artisan's result must be the SQL runner's (same fingerprint, the same expectations verify it);
`php artisan migrate:status` must agree with schemagate's status at every step; a PHP migration that fails
halfway leaves partial DDL and no Laravel row, which schemagate reports by name and undoes; the gate passes
the set and blocks a broken one by name; deploy.yml and rollback.yml round-trip production.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from helpers import (
    MIGRATIONS_DIR, REPO, admin_credentials, app_fingerprint, create_database, deploy, deploy_report, drop_database, load_structure, snapshot,
)

from plugins.module_utils.core.catalog import diff_tables
from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.gate.lint import LintSettings, lint_pending
from plugins.module_utils.migrate.laravel import ArtisanRunner, runner_for, with_artisan_sql
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.options import load_set
from plugins.module_utils.migrate.runner import APPLIED, PARTIAL, PENDING, MigrationRunner, RunnerSettings
from plugins.module_utils.sandbox import sandbox

APP = os.path.join(REPO, "tests", "fixtures", "laravel_phase_b")
NAMES = sorted(f[:-4] for f in os.listdir(os.path.join(APP, "database", "migrations")) if f.endswith(".php"))
BROKEN_NAME = "2025_10_02_000000_create_broken_table"
# Laravel's Schema::create runs CREATE TABLE, then one ALTER per foreign key: the second one fails, so the
# table and its first key stay behind (MySQL commits DDL) and Laravel records nothing.
BROKEN_PHP = """<?php

use Illuminate\\Database\\Migrations\\Migration;
use Illuminate\\Database\\Schema\\Blueprint;
use Illuminate\\Support\\Facades\\Schema;

return new class extends Migration
{
    public function up()
    {
        Schema::create('broken_things', function (Blueprint $table) {
            $table->id();
            $table->unsignedBigInteger('company_id');
            $table->unsignedBigInteger('ghost_id');
            $table->foreign('company_id')->references('id')->on('companies');
            $table->foreign('ghost_id')->references('id')->on('no_such_table');
        });
    }

    public function down()
    {
        Schema::dropIfExists('broken_things');
    }
};
"""

pytestmark = pytest.mark.skipif(
    shutil.which("php") is None or not os.path.isdir("/usr/share/php/Illuminate"),
    reason="PHP and php-laravel-framework are not installed: run ./run install",
)


@pytest.fixture
def broken_app(tmp_path):
    """A copy of the app with a seventh migration that fails halfway."""
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    (app / "database" / "migrations" / f"{BROKEN_NAME}.php").write_text(BROKEN_PHP, encoding="utf-8")
    return str(app)


@pytest.fixture
def two_databases(admin):
    names = [create_database(admin), create_database(admin)]
    yield names
    for name in names:
        drop_database(admin, name)


def admin_env(sandbox_cfg, database, runtime):
    values = admin_credentials(sandbox_cfg)
    return {**os.environ, "DB_SOCKET": sandbox_cfg.socket, "DB_DATABASE": database, "DB_USERNAME": values["user"],
            "DB_PASSWORD": values["password"], "LARAVEL_RUNTIME_DIR": str(runtime)}


def artisan_status(sandbox_cfg, tmp_path, database, app=APP):
    """{migration: batch or None} from `php artisan migrate:status` itself."""
    done = subprocess.run(["php", "artisan", "migrate:status", "--no-ansi", "--no-interaction"], cwd=app,
                          env=admin_env(sandbox_cfg, database, tmp_path / "artisan"), capture_output=True, text=True,
                          timeout=120, check=False)
    if "Migration table not found" in done.stdout:
        return {}
    assert done.returncode == 0, done.stdout + done.stderr
    found = {}
    for match in re.finditer(r"^\|\s*(Yes|No)\s*\|\s*(\S+)\s*\|\s*(\d*)\s*\|$", done.stdout, re.MULTILINE):
        found[match.group(2)] = int(match.group(3)) if match.group(1) == "Yes" else None
    return found


def schemagate_status(runner):
    return {s.migration: s.batch if s.state == APPLIED else None for s in runner.status()}


def artisan_runner(connection_to, database, app=APP):
    settings, migrations = load_set({"source": "laravel", "laravel_app": app}, database)
    return runner_for(connection_to(database), settings, migrations)


def test_artisan_gives_the_sql_runners_schema_and_migrate_status_agrees_at_every_step(
        admin, server, two_databases, connection_to, sandbox_cfg, tmp_path, tables_of):
    by_artisan, by_sql = two_databases
    runner = artisan_runner(connection_to, by_artisan)
    assert isinstance(runner, ArtisanRunner) and [m.name for m in runner.pending()] == NAMES
    assert artisan_status(sandbox_cfg, tmp_path, by_artisan) == {}  # no migrations table yet: nothing ran
    plan = runner.migrate(pretend=True)  # check mode: nothing runs, nothing is created
    assert plan.pretend and plan.names == NAMES
    assert tables_of(by_artisan, bookkeeping=True) == tables_of(by_artisan)

    # One migration at a time (--step), then one batch: artisan's table and schemagate's status agree each time.
    assert runner.migrate(step=True).names == NAMES
    assert artisan_status(sandbox_cfg, tmp_path, by_artisan) == schemagate_status(runner) == {n: i for i, n in enumerate(NAMES, 1)}
    for undone in range(1, len(NAMES) + 1):
        assert runner.rollback(steps=1).names == [NAMES[-undone]]
        assert artisan_status(sandbox_cfg, tmp_path, by_artisan) == schemagate_status(runner)
    assert set(schemagate_status(runner).values()) == {None}
    sql_before = runner.rollback(pretend=True)
    assert not sql_before.runs
    result = runner.migrate()  # `migrate` without --step: one batch, as artisan makes it
    assert result.names == NAMES and {r.batch for r in result.runs} == {1}
    assert artisan_status(sandbox_cfg, tmp_path, by_artisan) == schemagate_status(runner) == {n: 1 for n in NAMES}
    assert [s.checksum for s in runner.status()] == ["ok"] * len(NAMES)
    migrated = snapshot(admin, server, by_artisan)
    pretend_down = runner.rollback(pretend=True)  # check mode of a rollback: artisan's own --pretend SQL
    assert pretend_down.names == NAMES[::-1] and "drop table if exists" in pretend_down.runs[0].statements[0]
    assert snapshot(admin, server, by_artisan) == migrated  # bookkeeping rows included: nothing changed

    # The same structure as the SQL runner's, and as the reference the expectations file describes.
    MigrationRunner(connection_to(by_sql), RunnerSettings(database=by_sql), load_migrations(MIGRATIONS_DIR)).migrate()
    assert app_fingerprint(admin, server, by_artisan) == app_fingerprint(admin, server, by_sql)
    expected = load_structure("phase_b_schema.yaml")
    assert diff_tables(expected, tables_of(by_artisan, only=expected)) == []
    assert not os.path.exists(os.path.join(APP, ".env"))  # the connection never lands in the app


def test_a_php_migration_failing_halfway_is_named_its_partial_ddl_reported_and_undone(
        admin, database, connection_to, sandbox_cfg, tmp_path, tables_of, broken_app):
    runner = artisan_runner(connection_to, database, broken_app)
    with pytest.raises(SchemagateError) as failure:
        runner.migrate()
    message = failure.value.message
    assert message.startswith(f"Migration {BROKEN_NAME} (up) failed in php artisan migrate")
    assert "no_such_table" in message and "\n" not in message
    assert "It is not recorded as applied" in message and "table broken_things" in message
    assert failure.value.details["created_objects"] == ["table broken_things"]
    assert [c["migration"] for c in failure.value.details["completed"]] == NAMES
    assert "broken_things" in tables_of(database)  # Laravel's known behaviour: partial DDL, no row
    laravel = artisan_status(sandbox_cfg, tmp_path, database, broken_app)
    assert laravel[BROKEN_NAME] is None
    states = {s.migration: s for s in runner.status()}
    assert states[BROKEN_NAME].state == PARTIAL and "table broken_things" in states[BROKEN_NAME].detail
    with pytest.raises(SchemagateError, match=f"Migration {BROKEN_NAME} is partial"):
        runner.migrate()  # fixing and migrating again would fail on the table it left: roll back first
    undone = runner.rollback(steps=1)
    assert undone.names == [BROKEN_NAME] and undone.runs[0].statements == ["DROP TABLE `broken_things`"]
    assert "broken_things" not in tables_of(database)
    assert runner.status()[-1].state == PENDING
    assert artisan_status(sandbox_cfg, tmp_path, database, broken_app) == schemagate_status(runner)


def test_an_app_whose_config_ignores_the_environment_or_tls_is_refused_in_one_line(tmp_path, database):
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    (app / "config" / "database.php").write_text("<?php return ['default' => 'mysql', 'connections' => []];\n")
    with pytest.raises(SchemagateError, match=r"does not read env\('DB_DATABASE'\)"):
        load_set({"source": "laravel", "laravel_app": str(app)}, database)
    with pytest.raises(SchemagateError, match="needs laravel_app"):
        load_set({"source": "laravel"}, database)
    with pytest.raises(SchemagateError, match="does not read MYSQL_ATTR_SSL_CA"):  # TLS asked for: never plaintext
        load_set({"source": "laravel", "laravel_app": os.path.join(REPO, "tests", "fixtures", "laravel_app"), "ca_cert": "/x/ca.pem"}, database)
    settings, _migrations = load_set({"source": "laravel", "laravel_app": APP, "ca_cert": "/x/ca.pem"}, database)
    assert settings.laravel_tls == (("MYSQL_ATTR_SSL_CA", "/x/ca.pem"),)
    (app / "bootstrap" / "cache").mkdir()
    (app / "bootstrap" / "cache" / "config.php").write_text("<?php return [];\n")
    with pytest.raises(SchemagateError, match="cached config"):
        load_set({"source": "laravel", "laravel_app": str(app)}, database)


def test_a_squashed_schema_artisan_would_load_with_the_password_on_argv_is_refused(database, connection_to, tmp_path, tables_of):
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    (app / "database" / "schema").mkdir()
    (app / "database" / "schema" / "mysql-schema.dump").write_text("CREATE TABLE squashed (id INT);\n")
    with pytest.raises(SchemagateError, match="would first load database/schema/mysql-schema.dump"):
        artisan_runner(connection_to, database, str(app)).migrate()
    assert "squashed" not in tables_of(database, bookkeeping=True)


# ------------------------------------------------------------------------------ playbooks
LARAVEL_VARS = {"schemagate_migrations_source": "laravel", "schemagate_laravel_app": APP}


@pytest.mark.slow  # the gate, deploy.yml and rollback.yml, each by artisan
def test_gate_passes_deploy_applies_and_rollback_yml_restores_with_artisan(
        admin, server, production, tmp_path, sandbox_cfg, connection_to):
    # Production as a Laravel app leaves it: Laravel's own table exists (so the lint can ask artisan for the SQL).
    settings, migrations = load_set({"source": "laravel", "laravel_app": APP}, production)
    runner_for(connection_to(production), settings, migrations).history.ensure()
    before = app_fingerprint(admin, server, production)
    result, flat = deploy(tmp_path, production, "deploy.yml", **LARAVEL_VARS)
    assert result.returncode == 0, flat[-3000:]
    assert "GATE PASSED" in flat and "SMOKE TEST PASSED" in flat and f"DEPLOY {production}: deployed in" in flat
    assert f"PHP migrations of {APP}, run by php artisan" in flat  # production's migrate step drove artisan
    gate = json.loads(sorted((tmp_path / "reports").glob("*/gate.json"))[-1].read_text())
    groups = {c["group"] for c in gate["checks"]}
    assert {"migrate", "verify", "integrity", "benchmark", "rollback"} <= groups
    rehearsed = [c for c in gate["checks"] if c["group"] == "migrate"]
    assert [c["name"] for c in rehearsed] == NAMES and all("applied by php artisan" in c["message"] for c in rehearsed)
    assert all(c["passed"] for c in gate["checks"] if c["group"] == "rollback")
    linted = {c["name"]: c["figures"]["statements"] for c in gate["checks"] if c["code"] == "LN101"}
    assert linted == dict(zip(NAMES, (7, 9, 17, 12, 13, 9)))  # artisan's --pretend SQL
    assert [m["migration"] for m in deploy_report(tmp_path, production)["migrations"]] == NAMES
    assert artisan_status(sandbox_cfg, tmp_path, production) == {n: 1 for n in NAMES}
    expected = load_structure("phase_b_schema.yaml")
    deployed = app_fingerprint(admin, server, production)

    rolled, flat_rolled = deploy(tmp_path, production, "playbooks/rollback.yml", **LARAVEL_VARS)
    assert rolled.returncode == 0, flat_rolled[-3000:]
    assert f"EMERGENCY ROLLBACK (migrations) on {production}: verified" in flat_rolled
    assert app_fingerprint(admin, server, production) == before != deployed
    assert artisan_status(sandbox_cfg, tmp_path, production) == {n: None for n in NAMES}
    assert expected  # the structure file the gate verified against


def test_the_gate_blocks_a_broken_php_migration_by_name_and_production_is_untouched(admin, server, production, tmp_path, broken_app):
    before = app_fingerprint(admin, server, production)
    result, flat = deploy(tmp_path, production, "playbooks/gate.yml", schemagate_migrations_source="laravel",
                          schemagate_laravel_app=broken_app)
    assert result.returncode != 0
    assert "GATE FAILED" in flat and BROKEN_NAME in flat and "no_such_table" in flat
    assert app_fingerprint(admin, server, production) == before


def test_a_php_migration_failing_on_production_is_undone_by_the_rescue_and_the_play_fails(
        admin, server, production, tmp_path, sandbox_cfg, broken_app, tables_of):
    before = app_fingerprint(admin, server, production)
    result, flat = deploy(tmp_path, production, "deploy.yml", schemagate_skip_gate=True,
                          schemagate_migrations_source="laravel", schemagate_laravel_app=broken_app)
    assert result.returncode != 0
    assert f"Migration {BROKEN_NAME} (up) failed in php artisan migrate" in flat and "table broken_things" in flat
    assert "EMERGENCY ROLLBACK (migrations) on " + production + ": verified" in flat
    assert f"failed and was rolled back ({len(NAMES) + 1} migration(s) undone" in flat  # six applied + the partial one
    assert app_fingerprint(admin, server, production) == before and "broken_things" not in tables_of(production)
    assert artisan_status(sandbox_cfg, tmp_path, production, broken_app) == {n: None for n in NAMES + [BROKEN_NAME]}


def test_localhost_over_tcp_reaches_the_steps_server_not_phps_default_socket(database, sandbox_cfg, admin):
    """PyMySQL reaches host 'localhost' over TCP; PDO would read it as its default socket (the system server)."""
    user, password = (sandbox.read_option(sandbox_cfg.deploy_cnf, key) for key in ("user", "password"))
    conn = connect(ConnectionParams(host="localhost", port=sandbox_cfg.port, user=user, password=password), database)
    try:
        settings, migrations = load_set({"source": "laravel", "laravel_app": APP}, database)
        assert runner_for(conn, settings, migrations).migrate().names == NAMES
    finally:
        conn.close()
    with admin.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{database}`.migrations")
        assert cur.fetchone()[0] == len(NAMES)


DROP_PHONE_NAME = "2025_10_03_000000_drop_phone_from_customers"
DROP_PHONE_PHP = """<?php

use Illuminate\\Database\\Migrations\\Migration;
use Illuminate\\Database\\Schema\\Blueprint;
use Illuminate\\Support\\Facades\\Schema;

return new class extends Migration
{
    public function up()
    {
        Schema::table('customers', function (Blueprint $table) {
            $table->dropColumn('phone');
        });
    }

    public function down()
    {
        Schema::table('customers', function (Blueprint $table) {
            $table->string('phone')->nullable();
        });
    }
};
"""


def test_lint_reads_the_sql_artisan_would_run_for_a_php_migration(admin, server, database, connection_to, tmp_path, tables_of):
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    (app / "database" / "migrations" / f"{DROP_PHONE_NAME}.php").write_text(DROP_PHONE_PHP, encoding="utf-8")
    conn = connection_to(database)
    settings, migrations = load_set({"source": "laravel", "laravel_app": str(app)}, database)
    runner = runner_for(conn, settings, migrations)
    assert with_artisan_sql(conn, settings, migrations, runner.pending())[0].up == ()  # no migrations table: artisan not asked
    runner.history.ensure()  # the app has migrated before (Laravel's table exists, empty)
    before = snapshot(admin, server, database)
    pending = with_artisan_sql(conn, settings, migrations, runner.pending())
    assert snapshot(admin, server, database) == before  # --pretend ran nothing
    assert [s.sql for s in pending[-1].up] == ["alter table `customers` drop `phone`"]
    assert len(pending[0].up) == 7  # CREATE TABLE, then an ALTER per index and foreign key
    outcome = lint_pending(conn, server, database, pending, LintSettings(server, 100000), probes=False,
                           exclude=settings.bookkeeping_tables)
    [dropped] = [r for r in outcome.results if r.code == "DS102"]
    assert not dropped.passed and "customers.phone" in dropped.message + dropped.name
    assert dropped.figures["file"].endswith(f"{DROP_PHONE_NAME}.php") and dropped.figures["line"] == 1
    assert outcome.altered_tables == ["customers"]
