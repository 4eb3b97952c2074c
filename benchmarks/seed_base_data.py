"""Benchmark: how fast the sandbox generates its production-like base data.

Run: .venv/bin/python benchmarks/seed_base_data.py [--scale 1.0] [--repeat 3]
Seeds fresh scratch databases on the running sandbox (./run sandbox start) and
prints rows, seconds and rows/second per run. Target: >= 100,000 rows/s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import BASE_SCHEMA_SQL, sandbox_config  # noqa: E402

from plugins.module_utils.sandbox import sandbox  # noqa: E402
from plugins.module_utils.core.connection import connect  # noqa: E402
from plugins.module_utils.core.dialect import detect_server  # noqa: E402
from plugins.module_utils.sandbox.sample_data import SampleScale, seed_base_data  # noqa: E402
from plugins.module_utils.core.sql_script import split_statements  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cfg = sandbox_config()
    sandbox.start(cfg)
    with open(BASE_SCHEMA_SQL, encoding="utf-8") as handle:
        ddl = split_statements(handle.read())
    conn = connect(cfg.admin_params())
    print(f"server: {detect_server(conn).label}; scale {args.scale}; {os.cpu_count()} CPUs")
    rates = []
    for run in range(1, args.repeat + 1):
        name = f"sg_bench_{uuid.uuid4().hex[:8]}"
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"USE `{name}`")
            for statement in ddl:
                cur.execute(statement.sql)
        try:
            report = seed_base_data(conn, SampleScale.scaled(args.scale))
        finally:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE `{name}`")
        rates.append(report.rows_per_second)
        per_table = ", ".join(f"{table} {rows:,}" for table, rows in report.rows.items())
        print(
            f"run {run}: {report.total_rows:,} rows in {report.seconds:.2f} s = "
            f"{report.rows_per_second:,.0f} rows/s ({per_table})"
        )
    print(f"median: {statistics.median(rates):,.0f} rows/s (target >= 100,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
