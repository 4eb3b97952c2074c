"""Benchmark: the longest write a concurrent writer waits for during backup, migrate and restore.

Run: .venv/bin/python benchmarks/write_stall.py [--scale 0.05] [--hold 2.5]
A writer updates one `branches` row in a loop (autocommit) and records each statement's latency. Before
each step an ordinary transaction updates one `staff` row and stays open for --hold seconds (then
commits), the case issue 15 item 4 describes. A statement that locks several tables takes their metadata
locks in name order, holding those it has while it waits for the next: the writer of `branches` queues
behind it while it waits for `staff`. Printed per step: the step's outcome and seconds, the
lock attempts it needed, and the writer's max and p99 latency. The bound for backup and restore is 1 s:
every lock they take waits at most 1 s per attempt (plugins/module_utils/core/lock_wait.py).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import REPO, build_production, sandbox_config  # noqa: E402

from plugins.module_utils.backup import backup, restore  # noqa: E402
from plugins.module_utils.core.connection import connect  # noqa: E402
from plugins.module_utils.core.dialect import detect_server  # noqa: E402
from plugins.module_utils.core.errors import SchemagateError  # noqa: E402
from plugins.module_utils.migrate.migration_files import load_migrations  # noqa: E402
from plugins.module_utils.migrate.runner import MigrationRunner, RunnerSettings  # noqa: E402
from plugins.module_utils.sandbox import sandbox  # noqa: E402

DATABASE = "sg_stall_bench"


class Writer:
    """Updates one row in a loop; keeps every latency of the current step."""

    def __init__(self, params: Any, row_id: int) -> None:
        self.conn = connect(params, DATABASE)
        self.row_id = row_id
        self.latencies: List[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with self.conn.cursor() as cur:
            while not self.stop.is_set():
                started = time.perf_counter()
                cur.execute("UPDATE branches SET name = name WHERE id = %s", (self.row_id,))
                self.latencies.append(time.perf_counter() - started)
                self.stop.wait(0.01)

    def __enter__(self) -> "Writer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop.set()
        self.thread.join()
        self.conn.close()


def step(params: Any, name: str, hold: float, row_ids: List[int], action: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
    blocker = connect(params, DATABASE, autocommit=False)
    with blocker.cursor() as cur:
        cur.execute("UPDATE staff SET name = name WHERE id = %s", (row_ids[0],))
    timer = threading.Timer(hold, blocker.commit)
    with Writer(params, row_ids[1]) as writer:
        timer.start()
        started = time.perf_counter()
        try:
            outcome = action()
            result = "finished"
        except SchemagateError as exc:
            outcome, result = {}, f"failed: {exc.message[:100]}"
        seconds = time.perf_counter() - started
        timer.join()
    blocker.close()
    latencies = sorted(writer.latencies)
    return {
        "step": name, "result": result, "seconds": seconds, "attempts": outcome.get("attempts", "-"),
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0,
        "writes": len(latencies),
    }


def attempts(waits: List[Dict[str, Any]]) -> str:
    return ", ".join(f"{wait['attempts']} ({wait['statement'][:30]})" for wait in waits) or "1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05, help="sample-data scale of the benchmark database")
    parser.add_argument("--hold", type=float, default=2.5, help="seconds the open transaction stays open in each step")
    args = parser.parse_args()
    cfg = sandbox_config()
    sandbox.start(cfg)
    rows = build_production(cfg, DATABASE, args.scale)
    params = cfg.admin_params()
    conn = connect(params)
    server = detect_server(conn)
    with conn.cursor() as cur:
        cur.execute(f"SELECT (SELECT MIN(id) FROM `{DATABASE}`.staff), (SELECT MAX(id) FROM `{DATABASE}`.branches)")
        row_ids = list(cur.fetchone())
    directory = tempfile.mkdtemp(prefix="sg-stall-")
    taken: Dict[str, Any] = {}

    def do_backup() -> Dict[str, Any]:
        taken.update(backup.take_backup(params, conn, server, DATABASE, directory, label="stall", snapshot_lock_timeout=30))
        return {"attempts": attempts(taken["manifest"].consistency.get("lock_waits", []))}

    def do_migrate() -> Dict[str, Any]:
        runner = MigrationRunner(connect(params, DATABASE), RunnerSettings(database=DATABASE),
                                 load_migrations(os.path.join(REPO, "migrations")))
        runner.migrate()
        return {"attempts": "(runner: ddl_lock_wait_timeout)"}

    def do_restore() -> Dict[str, Any]:
        done = restore.restore_backup(params, conn, server, taken["manifest_file"], DATABASE, f"stall{int(time.time())}")
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{done['old_database']}`")
        return {"attempts": attempts(done.get("lock_waits", []))}

    results = [step(params, "backup", args.hold, row_ids, do_backup)]
    backup.verify_backup(params, conn, server, taken["manifest_file"])  # not measured: it writes only to a scratch database
    results.append(step(params, "migrate", args.hold, row_ids, do_migrate))
    results.append(step(params, "restore", args.hold, row_ids, do_restore))
    print(f"{server.label}, {rows} rows, one open transaction held {args.hold} s at the start of each step")
    print(f"{'step':<8} {'result':<10} {'seconds':>8} {'writes':>7} {'max ms':>8} {'p99 ms':>8}  lock attempts")
    for row in results:
        print(f"{row['step']:<8} {row['result'][:10]:<10} {row['seconds']:>8.2f} {row['writes']:>7} {row['max_ms']:>8.1f} "
              f"{row['p99_ms']:>8.1f}  {row['attempts']}")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))
    os.rmdir(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
