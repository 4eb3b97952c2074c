"""Benchmark: the online-DDL prediction's durations, predicted from a small copy against measured at full size.

Run: .venv/bin/python benchmarks/ddl_prediction.py [--small 0.1] [--large 1.0] [--repeat 1]
Builds two scratch databases on the running sandbox (./run sandbox start) with the sandbox's sample data
at two scales (``--small`` and ``--large``; 1.0 = 200,000 appointments). The gate's DDL prediction
(gate/ddl_probe.py) runs each statement below on a copy of the small one, with a concurrent writer, and
scales its duration to the large one's size from information_schema (the model each kind states); then
the same statements run on a copy of the large one, measured the same way. One line per statement:
the algorithm the engine chose, measured small, predicted large, measured large, and the error.
The scratch databases are dropped afterwards.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import uuid
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import BASE_SCHEMA_SQL, sandbox_config  # noqa: E402

from plugins.module_utils.core.connection import connect  # noqa: E402
from plugins.module_utils.core.dialect import detect_server  # noqa: E402
from plugins.module_utils.core.sql_script import split_statements  # noqa: E402
from plugins.module_utils.gate import ddl_probe  # noqa: E402
from plugins.module_utils.gate.statement_walk import facts_of, read_catalog  # noqa: E402
from plugins.module_utils.migrate.migration_files import load_migrations  # noqa: E402
from plugins.module_utils.sandbox import sandbox  # noqa: E402
from plugins.module_utils.sandbox.sample_data import SampleScale, seed_base_data  # noqa: E402

STATEMENTS = """\
ALTER TABLE appointments ADD COLUMN source VARCHAR(20) NULL;
ALTER TABLE appointments ADD INDEX appointments_status_index (status);
ALTER TABLE appointments FORCE;
ALTER TABLE appointments MODIFY customer_id BIGINT NULL;
"""


def build(admin: Any, scale: float) -> str:
    name = f"askproai_db_sg_bench_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.execute(f"USE `{name}`")
        with open(BASE_SCHEMA_SQL, encoding="utf-8") as handle:
            for statement in split_statements(handle.read()):
                cur.execute(statement.sql)
    seed_base_data(admin, SampleScale.scaled(scale))
    with admin.cursor() as cur:
        cur.execute(f"ANALYZE TABLE `{name}`.appointments")
        cur.fetchall()
    return name


def predictions(cfg: Any, source: str, production_of: str, migrations: List[Any]) -> List[ddl_probe.Prediction]:
    conn = connect(cfg.admin_params())
    try:
        server = detect_server(conn)
        tables = facts_of(read_catalog(conn, production_of, server))
        source_catalog = read_catalog(conn, source, server)
        copies = ddl_probe.prepare_copies(conn, source, source, uuid.uuid4().hex[:8],
                                          ddl_probe.altered_tables(migrations, source_catalog), tables, max_copy_rows=10 ** 9)
        try:
            _results, found = ddl_probe.probe_migrations(conn, server, copies, migrations, {"tables": tables, "variables": {}},
                                                         ddl_probe.ProbeSettings(max_copy_rows=10 ** 9),
                                                         lambda: connect(cfg.admin_params()))
        finally:
            ddl_probe.drop_copies(conn, copies)
        return found
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--small", type=float, default=0.1)
    parser.add_argument("--large", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    cfg = sandbox_config()
    sandbox.start(cfg)
    admin = connect(cfg.admin_params())
    folder = tempfile.mkdtemp(prefix="schemagate-ddl-bench-")
    with open(os.path.join(folder, "2025_12_09_000001_alter_appointments.up.sql"), "w", encoding="utf-8") as handle:
        handle.write(STATEMENTS)
    with open(os.path.join(folder, "2025_12_09_000001_alter_appointments.down.sql"), "w", encoding="utf-8") as handle:
        handle.write("SELECT 1;\n")
    migrations = load_migrations(folder)
    small = large = ""
    try:
        small, large = build(admin, args.small), build(admin, args.large)
        rows: Dict[int, Dict[str, List[float]]] = {}
        first: List[ddl_probe.Prediction] = []
        for _round in range(args.repeat):
            predicted = predictions(cfg, small, large, migrations)
            measured = predictions(cfg, large, large, migrations)
            first = first or predicted
            for index, (guess, truth) in enumerate(zip(predicted, measured)):
                entry = rows.setdefault(index, {"small": [], "predicted": [], "large": []})
                entry["small"].append(guess.measured_seconds or 0.0)
                entry["predicted"].append(guess.predicted_seconds or 0.0)
                entry["large"].append(truth.measured_seconds or 0.0)
        print(f"MariaDB {detect_server(admin).version_string}; appointments: {first[0].copy_rows:,} rows "
              f"({first[0].copy_bytes / 2 ** 20:.1f} MiB) small, {first[0].production_rows:,} rows "
              f"({first[0].production_bytes / 2 ** 20:.1f} MiB) large; median of {args.repeat} round(s), a writer running")
        print(f"{'statement':<58} {'engine':<22} {'small s':>8} {'predicted s':>12} {'large s':>8} {'error':>7}")
        for index, prediction in enumerate(first):
            entry = rows[index]
            small_s, guess_s, large_s = (statistics.median(entry[k]) for k in ("small", "predicted", "large"))
            error = f"{(guess_s - large_s) / large_s * 100:+.0f}%" if large_s else "n/a"
            print(f"{prediction.statement[:58]:<58} {prediction.kind:<22} {small_s:>8.3f} {guess_s:>12.3f} {large_s:>8.3f} {error:>7}")
        print("models: " + "; ".join(f"{kind}: {model}" for kind, model in ddl_probe.MODELS.items()))
    finally:
        with admin.cursor() as cur:
            for name in (small, large):
                if name:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
