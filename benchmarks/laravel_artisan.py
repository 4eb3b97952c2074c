"""Benchmark: the six Phase B migrations by php artisan (source: laravel) vs schemagate's SQL runner.

Run: .venv/bin/python benchmarks/laravel_artisan.py [--repeat 3]
Each run creates two empty databases with the base tables, migrates one with the PHP migrations of
tests/fixtures/laravel_phase_b through artisan (one `php artisan migrate --path=... --realpath` per
migration, as the gate and the deploy run them) and the other with migrations/*.up.sql, then rolls both
back. It prints each side's seconds (median of the runs) and checks the two schemas' fingerprints agree;
for scale, also the six in a single `php artisan migrate` process and PHP + the framework starting once.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import BASE_SCHEMA_SQL, REPO, sandbox_config  # noqa: E402

from plugins.module_utils.core.bookkeeping import bookkeeping_tables  # noqa: E402
from plugins.module_utils.core.catalog import schema_fingerprint  # noqa: E402
from plugins.module_utils.core.connection import connect  # noqa: E402
from plugins.module_utils.core.dialect import detect_server  # noqa: E402
from plugins.module_utils.core.sql_script import split_statements  # noqa: E402
from plugins.module_utils.migrate.laravel import runner_for  # noqa: E402
from plugins.module_utils.migrate.migration_files import load_migrations  # noqa: E402
from plugins.module_utils.migrate.options import load_set  # noqa: E402
from plugins.module_utils.migrate.runner import MigrationRunner, RunnerSettings  # noqa: E402
from plugins.module_utils.sandbox import sandbox  # noqa: E402

APP = os.path.join(REPO, "tests", "fixtures", "laravel_phase_b")


def timed(call):
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cfg = sandbox_config()
    sandbox.start(cfg)
    with open(BASE_SCHEMA_SQL, encoding="utf-8") as handle:
        ddl = split_statements(handle.read())
    admin = connect(cfg.admin_params())
    server = detect_server(admin)
    figures = {"artisan migrate": [], "artisan rollback": [], "SQL runner migrate": [], "SQL runner rollback": [],
               "one php artisan migrate": [], "php start (artisan --version)": []}
    for run in range(1, args.repeat + 1):
        names = [f"askproai_db_sg_lvbench_{uuid.uuid4().hex[:8]}" for _side in range(3)]
        for name in names:
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
                cur.execute(f"USE `{name}`")
                for statement in ddl:
                    cur.execute(statement.sql)
        conns = [connect(cfg.admin_params(), name) for name in names]
        try:
            settings, migrations = load_set({"source": "laravel", "laravel_app": APP}, names[0])
            artisan = runner_for(conns[0], settings, migrations)
            sql = MigrationRunner(conns[1], RunnerSettings(database=names[1]), load_migrations(os.path.join(REPO, "migrations")))
            seconds, _done = timed(artisan.migrate)
            figures["artisan migrate"].append(seconds)
            seconds, _done = timed(sql.migrate)
            figures["SQL runner migrate"].append(seconds)
            prints = [schema_fingerprint(admin, name, server, bookkeeping_tables())["fingerprint"] for name in names]
            seconds, _done = timed(artisan.rollback)
            figures["artisan rollback"].append(seconds)
            seconds, _done = timed(sql.rollback)
            figures["SQL runner rollback"].append(seconds)
            # For scale: the six in one artisan process (as a developer runs it), and PHP + the framework starting.
            plain = runner_for(conns[2], load_set({"source": "laravel", "laravel_app": APP}, names[2])[0], migrations)
            seconds, done = timed(lambda: plain.artisan("migrate", "--force"))
            assert done.returncode == 0, done.stdout + done.stderr
            figures["one php artisan migrate"].append(seconds)
            seconds, _done = timed(lambda: plain.artisan("--version"))
            figures["php start (artisan --version)"].append(seconds)
        finally:
            for conn in conns:
                conn.close()
            for name in names:
                with admin.cursor() as cur:
                    cur.execute(f"DROP DATABASE `{name}`")
        same = "identical" if prints[0] == prints[1] else "DIFFERENT"
        print(f"run {run}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in figures.items()) + f"; fingerprints {same}")
        if prints[0] != prints[1]:
            return 1
    print("median of", args.repeat, "runs:")
    for key, values in figures.items():
        print(f"  {key:<30} {statistics.median(values):.2f} s")
    ratio = statistics.median(figures["artisan migrate"]) / statistics.median(figures["SQL runner migrate"])
    print(f"  artisan / SQL runner (migrate): {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
