"""Benchmark: verified backup and restore of a >= 500 MB database, against the plain client tools.

Run: .venv/bin/python benchmarks/backup_restore.py [--scale 14] [--repeat 1] [--workers 2] [--level0]
Builds askproai_db_sg_bench_backup on the running sandbox (sample data at --scale, the six
migrations applied), then times, as the deploy account (credentials in an option file, never argv):
  1. a bare ``mariadb-dump`` with the backup's options into an uncompressed file;
  2. our backup (schemagate.mysql.backup's take step: dump + gzip + sha256 + manifest figures); target <= 1.5x (1);
  3. our verification restore (parallel, from the .sql.gz) and the comparison with the manifest;
  4. piping the bare dump into the ``mariadb`` client; our restore must be faster;
  5. what deploy.yml does: our backup restored on an embedded rehearsal server while the dump is written
     (``take_verified_backup``), against the bare dump plus piping it into the client on that same server;
     target <= 0.55x (the same on production's own server, into a scratch database, is printed too).
With --level0 it also times our backup with compress_level 0. Each step reports wall seconds and
CPU seconds (server + client tools + this process), since on a shared machine wall time also
measures the neighbours. Prints a table and drops every database and file it made.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import REPO, build_production, deploy_params, size_mb, start_sandbox, timed  # noqa: E402

from plugins.module_utils.core.connection import ConnectionParams  # noqa: E402
from plugins.module_utils.sandbox import sandbox  # noqa: E402

from plugins.module_utils.backup import backup, dump_restore, dump_tool  # noqa: E402
from plugins.module_utils.core.connection import connect  # noqa: E402
from plugins.module_utils.core.dialect import detect_server  # noqa: E402
from plugins.module_utils.migrate.migration_files import load_migrations  # noqa: E402
from plugins.module_utils.migrate.runner import MigrationRunner, RunnerSettings  # noqa: E402

DATABASE = "askproai_db_sg_bench_backup"
PIPE_TARGET = f"{DATABASE}_sg_pipe"


def build(cfg, scale: float) -> None:
    rows = build_production(cfg, DATABASE, scale)
    print(f"seeded {rows:,} rows")
    MigrationRunner(connect(cfg.admin_params(), DATABASE), RunnerSettings(database=DATABASE),
                    load_migrations(os.path.join(REPO, "migrations"))).migrate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=14.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=dump_restore.RESTORE_WORKERS)
    parser.add_argument("--level0", action="store_true", help="also time our backup with compress_level 0")
    parser.add_argument("--keep-database", action="store_true", help="keep the benchmark database (for reruns with --reuse)")
    parser.add_argument("--reuse", action="store_true", help="reuse the database of an earlier --keep-database run")
    args = parser.parse_args()
    cfg, admin = start_sandbox()
    params = deploy_params(cfg)
    conn = connect(params)
    server = detect_server(conn)
    work = tempfile.mkdtemp(prefix="schemagate-bench-")
    rehearsal = sandbox.start_rehearsal(os.getpid(), buffer_pool="1G")  # as deploy.yml provides it (deploy_rehearsal_buffer_pool)
    rehearsal_cfg = sandbox.rehearsal_config(rehearsal["path"])
    rehearsal_params = ConnectionParams(unix_socket=rehearsal["socket"], config_file=rehearsal["config_file"])
    rehearsal_conn = connect(rehearsal_params)
    verify_on = backup.VerifyServer(rehearsal_params, rehearsal_conn, detect_server(rehearsal_conn), other_server=True)
    try:
        if not args.reuse:
            build(cfg, args.scale)
        megabytes = size_mb(admin, DATABASE)
        print(f"{DATABASE}: {megabytes:,.0f} MB of data and indexes; {server.label}; {os.cpu_count()} CPUs")
        if megabytes < 500:
            print("warning: below 500 MB; raise --scale")
        option_file = dump_tool.write_client_option_file(params, server, work)
        env = dump_tool.client_environment(work)
        tool = dump_tool.find_dump_tool(server)
        bare_file = os.path.join(work, "bare.sql")
        steps = [
            ("bare", "bare mariadb-dump to a file", "reference"),
            ("backup", "our backup (dump + gzip -1 + sha256 + figures)", "<= 1.5x bare"),
            ("backup0", "our backup with compress_level 0", ""),
            ("pipe", "piping the dump into the mariadb client", "reference"),
            ("restore", f"our restore ({args.workers} workers, from .sql.gz)", "< 1.00x pipe"),
            ("verification", "our verification (restore + compare)", ""),
            ("pipe_rehearsal", "piping the dump into the mariadb client on the rehearsal server", "reference"),
            ("streamed_rehearsal", "our backup verified on the rehearsal server while it is written", "<= 0.55x bare + pipe there"),
            ("streamed_here", "our backup verified on production's server while it is written", ""),
        ]
        rows = {key: [] for key, _title, _target in steps}
        for run in range(1, args.repeat + 1):
            def bare_dump() -> None:
                with open(bare_file, "wb") as out:
                    subprocess.run(dump_tool.dump_command(tool, option_file, server, DATABASE), stdout=out, env=env, check=True)
            rows["bare"].append(timed(cfg, bare_dump))

            backup_dir = os.path.join(work, f"backups{run}")
            taken = {}

            def our_backup(level: int, label: str) -> None:
                taken.update(backup.take_backup(params, conn, server, DATABASE, backup_dir, label=label, compress_level=level))
            if args.level0:
                rows["backup0"].append(timed(cfg, lambda: our_backup(0, f"bench{run}_level0")))
            rows["backup"].append(timed(cfg, lambda: our_backup(backup.GZIP_LEVEL, f"bench{run}")))
            verify = {}
            verify_cost = timed(cfg, lambda: verify.update(backup.verify_backup(params, conn, server, taken["manifest_file"], workers=args.workers)))
            verified = verify["verification"]
            rows["restore"].append((verified["restore_seconds"], None))  # its CPU is inside the verification's
            rows["verification"].append(verify_cost)

            def client_pipe() -> None:
                with admin.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{PIPE_TARGET}`")
                    cur.execute(f"CREATE DATABASE `{PIPE_TARGET}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
                client = shutil.which(server.client_tools[0]) or server.client_tools[0]
                with open(bare_file, "rb") as dump:
                    subprocess.run([client, f"--defaults-file={option_file}", PIPE_TARGET], stdin=dump, env=env, check=True)
            rows["pipe"].append(timed(cfg, client_pipe))
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{PIPE_TARGET}`")

            def client_pipe_rehearsal() -> None:
                with rehearsal_conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
                    cur.execute(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
                client = shutil.which(server.client_tools[0]) or server.client_tools[0]
                with open(bare_file, "rb") as dump:
                    subprocess.run([client, f"--defaults-file={rehearsal['config_file']}", f"--socket={rehearsal['socket']}", DATABASE],
                                   stdin=dump, env=env, check=True)
                with rehearsal_conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE `{DATABASE}`")
            rows["pipe_rehearsal"].append(timed(cfg, client_pipe_rehearsal, rehearsal_cfg))

            def streamed(on, label: str) -> None:
                backup.take_verified_backup(params, conn, server, DATABASE, backup_dir, label, verify_on=on, workers=args.workers)
            rows["streamed_rehearsal"].append(timed(cfg, lambda: streamed(verify_on, f"bench{run}_streamed"), rehearsal_cfg))
            rows["streamed_here"].append(timed(cfg, lambda: streamed(None, f"bench{run}_streamed_here")))
            print(
                f"run {run}: dump {os.path.getsize(bare_file) / 2**20:,.0f} MB, ours {taken['manifest'].size_bytes / 2**20:,.0f} MB gzip; "
                f"writes paused {taken['manifest'].consistency['writes_paused_ms']} ms; {verified['statements']['insert']} INSERT batches; "
                f"load average {os.getloadavg()[0]:.2f}"
            )
            shutil.rmtree(backup_dir, ignore_errors=True)
        wall = {key: statistics.median(value[0] for value in values) for key, values in rows.items() if values}
        cpu = {key: statistics.median(value[1] for value in values) for key, values in rows.items() if values and values[0][1] is not None}
        reference = {"bare": "bare", "backup": "bare", "backup0": "bare", "pipe": "pipe", "restore": "pipe", "verification": "pipe",
                     "pipe_rehearsal": "pipe_rehearsal", "streamed_rehearsal": "pipe_rehearsal", "streamed_here": "pipe"}
        print()
        print(f"| Step ({args.repeat} run(s), median) | Wall s | vs reference | CPU s | Target |")
        print("|---|---|---|---|---|")
        for key, title, target in steps:
            if key in wall:
                ratio = wall[key] / wall[reference[key]]
                cpu_text = f"{cpu[key]:.1f}" if key in cpu else "(in verification)"
                print(f"| {title} | {wall[key]:.1f} | {ratio:.2f}x {reference[key]} | {cpu_text} | {target} |")
        # Backup + verification against the bare tools doing the same two jobs one after the other.
        sequence = (wall["backup"] + wall["verification"]) / (wall["bare"] + wall["pipe"])
        print()
        print(f"backup + verification, one after the other (as before): {sequence:.2f}x (bare dump + pipe into production's server)")
        print(f"backup verified while it is written, on production's server: {wall['streamed_here'] / (wall['bare'] + wall['pipe']):.2f}x "
              "(bare dump + pipe into production's server)")
        print(f"backup verified while it is written, on the rehearsal server (deploy.yml): "
              f"{wall['streamed_rehearsal'] / (wall['bare'] + wall['pipe_rehearsal']):.2f}x (bare dump + pipe into the rehearsal server); "
              "target <= 0.55x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        rehearsal_conn.close()
        sandbox.stop_rehearsal(rehearsal["path"])
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{PIPE_TARGET}`")
            if not args.keep_database:
                cur.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
        conn.close()
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
