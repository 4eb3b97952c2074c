"""Benchmark: the whole gate (ansible-playbook playbooks/gate.yml) on the sandbox at default scale.

Run: .venv/bin/python benchmarks/gate.py [--repeat 2] [--scale 1.0]
Creates a production-like database (sample data at --scale, nothing migrated), runs the gate
against it --repeat times and prints, per run: wall time, time per gate step (from gate.json),
rows seeded, and the peak resident memory of the controller's processes (ansible-playbook and
the modules it forks). Targets: <= 30 s per gate on 2 cores, <= 300 MB peak.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import ANSIBLE_PLAYBOOK, BASE_SCHEMA_SQL, REPO, ansible_environment, sandbox_config  # noqa: E402

from plugins.module_utils.sandbox import sandbox  # noqa: E402
from plugins.module_utils.core.connection import connect  # noqa: E402
from plugins.module_utils.sandbox.sample_data import SampleScale  # noqa: E402

DATABASE = "askproai_db_sg_benchprod"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    cfg = sandbox_config()
    sandbox.start(cfg)
    made = sandbox.ensure_production(cfg, DATABASE, BASE_SCHEMA_SQL, SampleScale.scaled(args.scale), reset=True)
    print(f"production-like database {DATABASE}: {made['seeded']['total_rows']:,} base rows")
    env = ansible_environment()
    try:
        for run in range(1, args.repeat + 1):
            with tempfile.TemporaryDirectory() as reports:
                extra = os.path.join(reports, "vars.json")
                with open(extra, "w", encoding="utf-8") as handle:
                    json.dump({"schemagate_database": DATABASE, "gate_report_root": reports}, handle)
                started = time.monotonic()
                done = subprocess.run(
                    [ANSIBLE_PLAYBOOK, "playbooks/gate.yml", "-e", f"@{extra}"],
                    cwd=REPO, env=env, capture_output=True, text=True, check=False,
                )
                wall = time.monotonic() - started
                peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                reports_found = [os.path.join(d, "gate.json") for d, _dirs, files in os.walk(reports) if "gate.json" in files]
                if done.returncode != 0 or not reports_found:
                    print(done.stdout[-3000:])
                    return 1
                with open(reports_found[0], encoding="utf-8") as handle:
                    report = json.load(handle)
            steps = {}
            for check in report["checks"]:
                steps[check["group"]] = steps.get(check["group"], 0.0) + check["seconds"]
            seeded = sum(c["figures"].get("total_rows", 0) for c in report["checks"] if c["group"] == "seed")
            print(
                f"run {run}: gate {wall:.1f} s wall ({report['summary']}); seeded {seeded:,} rows; "
                f"peak RSS of any controller process {peak_mb:.0f} MB"
            )
            print("   per step (s): " + ", ".join(f"{group} {seconds:.2f}" for group, seconds in steps.items()))
    finally:
        conn = connect(cfg.admin_params())
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
    print("targets: gate <= 30 s, peak memory <= 300 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
