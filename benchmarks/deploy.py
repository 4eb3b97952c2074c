"""Benchmark: ``ansible-playbook deploy.yml`` end to end against a >= 500 MB production database.

Run: .venv/bin/python benchmarks/deploy.py [--scale 14] [--repeat 1] [--reuse]
Builds askproai_db_sg_bench_deploy on the running sandbox (base tables with sample data at --scale,
nothing migrated), then times the whole deploy at default settings: the gate (clone, seed, verify,
integrity, benchmark, rollback rehearsal, on its embedded rehearsal server), the deploy lock, the verified
backup (dump + gzip + manifest, restored on the deploy's embedded rehearsal server while it is written and
compared with the manifest), the rehearsal of the migrations on that restore, the migration and the smoke test.
Printed apart: what production's server itself spent (CPU-seconds of its mariadbd, from /proc) and what
went to its binary log (what every replica would replay).
Between runs the six migrations are rolled back (not timed). Figures come from the wall clock, the CPU
used (the sandbox server plus ansible-playbook and everything it ran: modules, the dump tool), and the
deploy and gate reports; the target is <= 60 s on a 2-core machine. CPU seconds / cores is the floor
for this work on this machine, however well it were overlapped.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import (  # noqa: E402
    ANSIBLE_PLAYBOOK, REPO, RehearsalServersCpu, ansible_environment, build_production, server_cpu, size_mb, start_sandbox, timed)

from plugins.module_utils.core.connection import connect  # noqa: E402
from plugins.module_utils.migrate.migration_files import load_migrations  # noqa: E402
from plugins.module_utils.migrate.runner import MigrationRunner, RunnerSettings  # noqa: E402

DATABASE = "askproai_db_sg_bench_deploy"
TARGET_SECONDS = 60.0


def binlog_bytes(admin) -> int:
    with admin.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        return sum(int(row[1]) for row in cur.fetchall())


def one_deploy(cfg, admin, work: str) -> dict:
    extra = os.path.join(work, "vars.json")
    with open(extra, "w", encoding="utf-8") as handle:
        json.dump({
            "schemagate_database": DATABASE,
            "gate_report_root": os.path.join(work, "reports"),
            "schemagate_state_dir": os.path.join(work, "deploys"),
            "schemagate_backup_dir": os.path.join(work, "backups"),
        }, handle)
    finished = {}

    def run() -> None:
        finished["done"] = subprocess.run([ANSIBLE_PLAYBOOK, "deploy.yml", "-e", f"@{extra}"], cwd=REPO, env=ansible_environment(),
                                          capture_output=True, text=True, check=False)

    production_cpu, binlog = server_cpu(cfg), binlog_bytes(admin)
    with RehearsalServersCpu() as rehearsal_servers:
        wall, cpu = timed(cfg, run)
    production_cpu, binlog = server_cpu(cfg) - production_cpu, binlog_bytes(admin) - binlog
    cpu += rehearsal_servers.seconds
    done = finished["done"]
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-2000:], sep="\n")
        raise SystemExit(f"deploy.yml failed (exit {done.returncode})")
    [report_path] = glob.glob(os.path.join(work, "deploys", f"{DATABASE}-*.json"))
    with open(report_path, encoding="utf-8") as handle:
        report = json.load(handle)
    [gate_path] = glob.glob(os.path.join(work, "reports", "*", "gate.json"))
    with open(gate_path, encoding="utf-8") as handle:
        gate = json.load(handle)
    backup = report["backup"]
    rehearsal = report.get("rehearsal_on_restored") or {}
    return {
        "wall": wall,
        "cpu": cpu,
        "production_cpu": production_cpu,
        "binlog": binlog,
        "gate": float(gate["run"]["seconds"]),
        "dump": backup["dump_seconds"],
        "verify": backup["restore_seconds"] + backup["compare_seconds"],
        "backup_and_verify": backup.get("backup_and_verify_seconds") or backup["dump_seconds"] + backup["restore_seconds"] + backup["compare_seconds"],
        "rehearsal": sum(step["duration_ms"] or 0 for step in rehearsal.get("migrations") or []) / 1000,
        "migrate": sum(step["duration_ms"] for step in report["migrations"]) / 1000,
        "backup_mb": backup["size_bytes"] / 2**20,
        "outcome": report["outcome"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=14.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="reuse the database of an earlier run (nothing migrated)")
    args = parser.parse_args()
    cfg, admin = start_sandbox()
    if not args.reuse:
        started = time.monotonic()
        rows = build_production(cfg, DATABASE, args.scale)
        print(f"built {DATABASE}: {rows:,} base rows in {time.monotonic() - started:.0f} s (not timed)")
    megabytes = size_mb(admin, DATABASE)
    print(f"{DATABASE}: {megabytes:,.0f} MB of data and indexes; {os.cpu_count()} CPUs")
    if megabytes < 500:
        print("warning: below 500 MB; raise --scale")
    runs = []
    for run in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory(prefix="schemagate-bench-deploy-") as work:
            figures = one_deploy(cfg, admin, work)
        runs.append(figures)
        print(f"run {run}: {figures['wall']:.1f} s wall, {figures['cpu']:.0f} CPU-s ({figures['outcome']}); "
              f"gate {figures['gate']:.1f} s, dump {figures['dump']:.1f} s ({figures['backup_mb']:,.0f} MB gzip), "
              f"verification {figures['verify']:.1f} s (backup + verification {figures['backup_and_verify']:.1f} s), "
              f"migrations on the restored backup {figures['rehearsal']:.2f} s, on production {figures['migrate']:.2f} s; "
              f"production's server {figures['production_cpu']:.1f} CPU-s, {figures['binlog']:,} binlog bytes; "
              f"load average {os.getloadavg()[0]:.2f}")
        undo = MigrationRunner(connect(cfg.admin_params(), DATABASE), RunnerSettings(database=DATABASE),
                               load_migrations(os.path.join(REPO, "migrations")))
        undo.rollback(steps=len(undo.migrations))  # back to "nothing migrated" for the next run (not timed)
    median = {key: statistics.median(run[key] for run in runs)
              for key in ("wall", "cpu", "production_cpu", "binlog", "gate", "dump", "verify", "backup_and_verify", "rehearsal", "migrate")}
    print()
    print(f"| deploy.yml on {megabytes:,.0f} MB ({args.repeat} run(s), median) | Seconds | Target |")
    print("|---|---|---|")
    print(f"| end to end (wall, ansible-playbook start to exit) | {median['wall']:.1f} | <= {TARGET_SECONDS:.0f} |")
    cores = os.cpu_count() or 1
    print(f"| CPU used (servers, rehearsal servers included, + Ansible and every tool it ran) / {cores} cores: the floor | "
          f"{median['cpu']:.0f} / {cores} = {median['cpu'] / cores:.1f} | |")
    print(f"| gate (from its report) | {median['gate']:.1f} | |")
    print(f"| backup dump + gzip + manifest figures | {median['dump']:.1f} | |")
    print(f"| backup verification (restore + compare, while the dump is written) | {median['verify']:.1f} | |")
    print(f"| backup and verification together (wall) | {median['backup_and_verify']:.1f} | |")
    print(f"| migrations rehearsed on the restored backup (production's rows) | {median['rehearsal']:.2f} | |")
    print(f"| migrations on production | {median['migrate']:.2f} | |")
    print(f"| production's server: CPU-seconds of its mariadbd | {median['production_cpu']:.1f} | |")
    print(f"| production's server: bytes written to its binary log | {median['binlog']:,.0f} | |")
    admin.close()
    return 0 if median["wall"] <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
