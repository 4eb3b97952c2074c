"""Benchmark: the eleven rollback scenarios on small data, against the seed's ~1.1 s.

Run: .venv/bin/python benchmarks/rollback_scenarios.py [--repeat 5]
The seed's rollback script, run against a real server with its tiny data and one client
process per step, takes about 1.1 s; ours must cost at most half (0.55 s). Each run clones
nothing: it creates the base tables with 3 rows each and runs check_rollback_safety.
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

from plugins.module_utils.sandbox import sandbox  # noqa: E402
from plugins.module_utils.core.connection import connect  # noqa: E402
from plugins.module_utils.core.dialect import detect_server  # noqa: E402
from plugins.module_utils.migrate.migration_files import load_migrations  # noqa: E402
from plugins.module_utils.gate.rollback_safety import check_rollback_safety  # noqa: E402
from plugins.module_utils.migrate.runner import RunnerSettings  # noqa: E402
from plugins.module_utils.core.sql_script import split_statements  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cfg = sandbox_config()
    sandbox.start(cfg)
    with open(BASE_SCHEMA_SQL, encoding="utf-8") as handle:
        ddl = split_statements(handle.read())
    migrations = load_migrations(os.path.join(REPO, "migrations"))
    admin = connect(cfg.admin_params())
    server = detect_server(admin)
    timings = []
    for run in range(1, args.repeat + 1):
        name = f"askproai_db_sg_rbbench_{uuid.uuid4().hex[:8]}"
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"USE `{name}`")
            for statement in ddl:
                cur.execute(statement.sql)
        conn = connect(cfg.admin_params(), name)
        try:
            started = time.perf_counter()
            results = check_rollback_safety(conn, server, RunnerSettings(database=name), migrations)
            elapsed = time.perf_counter() - started
        finally:
            conn.close()
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE `{name}`")
        timings.append(elapsed)
        verdict = "all passed" if all(r.passed for r in results) else "FAILED"
        print(f"run {run}: {len(results)} scenario checks in {elapsed:.3f} s ({verdict})")
    print(f"median {statistics.median(timings):.3f} s; budget 0.55 s (half of the seed's ~1.1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
