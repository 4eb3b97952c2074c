"""Start, stop or inspect the private sandbox server: ./run sandbox start|stop|status|destroy|production.

A thin wrapper over plugins/module_utils/sandbox.py (the same code the
schemagate.mysql.sandbox module runs). Settings come from the environment:
SCHEMAGATE_SANDBOX_DIR (default .sandbox/ in the repo), SCHEMAGATE_SANDBOX_PORT
(default 3417), SCHEMAGATE_SCALE (data scale factor for `production`, default 1).
"""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from plugins.module_utils.sandbox import sandbox  # noqa: E402
from plugins.module_utils.core.errors import SchemagateError  # noqa: E402
from plugins.module_utils.sandbox.sample_data import SampleScale  # noqa: E402

USAGE = "usage: ./run sandbox start|stop|status|destroy|production [database]"


def config() -> sandbox.SandboxConfig:
    port = os.environ.get("SCHEMAGATE_SANDBOX_PORT", "3417")
    if not port.isdigit():
        raise SchemagateError(f"SCHEMAGATE_SANDBOX_PORT={port!r} is not a port number.")
    root = os.environ.get("SCHEMAGATE_SANDBOX_DIR", os.path.join(REPO, ".sandbox"))
    return sandbox.SandboxConfig(root=os.path.abspath(root), port=int(port))


def main(argv):
    if len(argv) < 2 or argv[1] not in ("start", "stop", "status", "destroy", "production"):
        print(USAGE, file=sys.stderr)
        return 2
    cfg = config()
    if argv[1] == "start":
        result = sandbox.start(cfg)
    elif argv[1] == "stop":
        result = sandbox.stop(cfg)
    elif argv[1] == "destroy":
        result = sandbox.destroy(cfg)
    elif argv[1] == "production":
        raw = os.environ.get("SCHEMAGATE_SCALE", "1")
        try:
            factor = float(raw)
        except ValueError:
            raise SchemagateError(f"SCHEMAGATE_SCALE={raw!r} is not a number: set it to e.g. 0.1 or 2.") from None
        database = argv[2] if len(argv) > 2 else "askproai_db"
        sandbox.start(cfg)
        result = sandbox.ensure_production(
            cfg, database, os.path.join(REPO, "sql", "base_schema.sql"), SampleScale.scaled(factor)
        )
    else:
        result = sandbox.status(cfg)
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except SchemagateError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        sys.exit(1)
