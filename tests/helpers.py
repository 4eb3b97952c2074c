"""What tests share: paths, throwaway databases, playbook runs, snapshots, waits.

Test modules import these from here (never from conftest or from each other), so a test
file can be run, moved or split on its own. Fixtures stay in conftest.py.
"""
from __future__ import annotations

import json
import re
import os
import subprocess
import sys
import threading
import time
import uuid

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from plugins.module_utils.core.bookkeeping import bookkeeping_tables  # noqa: E402
from plugins.module_utils.core.catalog import fingerprint, read_tables, schema_fingerprint  # noqa: E402
from plugins.module_utils.core.schema_model import Tables, tables_from_dict  # noqa: E402
from plugins.module_utils.core.sql_script import split_statements  # noqa: E402

MIGRATIONS_DIR = os.path.join(REPO, "migrations")


BASE_SCHEMA_SQL = os.path.join(REPO, "sql", "base_schema.sql")


PRODUCTION_DB = "askproai_db"


# Scratch databases live under production's name + _sg_, where the deploy account has rights.
SCRATCH_PREFIX = f"{PRODUCTION_DB}_sg_test_"


BIN = os.path.dirname(sys.executable)


def load_yaml(name: str):
    with open(os.path.join(REPO, "expectations", name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_structure(name: str) -> Tables:
    """A structure file of expectations/ as the typed model (what catalog.read_tables returns)."""
    return tables_from_dict(load_yaml(name), name)


def create_database(admin, with_base_tables: bool = True) -> str:
    name = SCRATCH_PREFIX + uuid.uuid4().hex[:10]
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        if with_base_tables:
            cur.execute(f"USE `{name}`")
            with open(BASE_SCHEMA_SQL, encoding="utf-8") as handle:
                for statement in split_statements(handle.read()):
                    cur.execute(statement.sql)
    return name


def drop_database(admin, name: str) -> None:
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def drop_with_scratch(admin, name: str) -> None:
    """Drop ``name`` and every ``<name>_sg_*`` database a test's run left beside it."""
    with admin.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (name.replace("_", "\\_") + "\\_sg\\_%",))
        for (scratch,) in cur.fetchall():
            cur.execute(f"DROP DATABASE `{scratch}`")
    drop_database(admin, name)


def create_production(admin) -> str:
    """A small production-like database: base tables with sample rows, nothing migrated yet."""
    from plugins.module_utils.sandbox.sample_data import SampleScale, seed_base_data

    name = create_database(admin)
    with admin.cursor() as cur:
        cur.execute(f"USE `{name}`")
    seed_base_data(admin, SampleScale.scaled(0.01))
    return name


def wait_for(predicate, attempts=600):
    """Poll a server-side condition (bounded); returns whether it became true."""
    for _attempt in range(attempts):
        if predicate():
            return True
        time.sleep(0.05)
    return False


def playbook(*args: str, extra_vars_file: str = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1", PATH=f"{BIN}:{os.environ['PATH']}")
    command = [os.path.join(BIN, "ansible-playbook"), *args]
    if extra_vars_file:
        command += ["-e", f"@{extra_vars_file}"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def recap(output: str) -> dict:
    match = re.search(r"sandbox\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert match, output[-2000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


# The worked example's own settings, as inventory/sandbox.yml gives them (for inventories tests write themselves).
WORKED_EXAMPLE = {
    "schemagate_expectations_file": os.path.join(REPO, "expectations", "phase_b.yaml"),
    "schemagate_verify_sql_file": os.path.join(REPO, "sql", "verify_migrations.sql"),
    "schemagate_benchmark_file": os.path.join(REPO, "sql", "performance_benchmarks.sql"),
    "schemagate_tenant_column": "company_id",
}


# Smaller than the gate's defaults so the suite stays fast; the plans are still the real ones.
FAST_GATE = {
    **WORKED_EXAMPLE,
    "gate_seed_rows": {
        "companies": 10, "branches": 50, "staff": 200, "services": 50, "customers": 4000, "appointments": 10000,
        "appointment_modifications": 20000, "callback_requests": 20000, "callback_escalations": 4000,
        "notification_configurations": 2000, "policy_configurations": 2000, "appointment_modification_stats": 10000,
    },
    "gate_seed_default_rows": 200,
    "gate_benchmark_runs": 5,
    "gate_benchmark_warmup": 1,
}


def snapshot(admin, server, database):
    """Schema fingerprint (bookkeeping included) and every table's row checksum."""
    tables = read_tables(admin, database, server)
    with admin.cursor() as cur:
        cur.execute("CHECKSUM TABLE " + ", ".join(f"`{database}`.`{t}`" for t in sorted(tables)))
        sums = {row[0]: row[1] for row in cur.fetchall()}
    return fingerprint(tables), sums


def edit(directory, name, direction, old, new):
    path = os.path.join(directory, f"{name}.{direction}.sql")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    assert old in text, f"{old!r} not in {path}"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text.replace(old, new))


DEPLOY_VARS = {**FAST_GATE, "deploy_backup": False}


# Tests about what happens on production skip the gate (tests/test_gate.py covers it) to keep the suite fast.
NO_GATE = {"schemagate_skip_gate": True}


def deploy(tmp_path, database, *args, **extra):
    vars_file = tmp_path / f"deploy-{len(list(tmp_path.glob('deploy-*.json')))}.json"
    vars_file.write_text(json.dumps({
        "schemagate_database": database,
        "gate_report_root": str(tmp_path / "reports"),
        "schemagate_state_dir": str(tmp_path / "state"),  # rollback.yml finds the pre-deploy fingerprint there too
        **DEPLOY_VARS,
        **extra,
    }))
    result = playbook(*args, extra_vars_file=str(vars_file))
    return result, " ".join(result.stdout.split())


def app_fingerprint(admin, server, database, migrations_table="migrations"):
    return schema_fingerprint(admin, database, server, bookkeeping_tables(migrations_table))["fingerprint"]


def deploy_report(tmp_path, database):
    """The one deploy report a test's deploy wrote (0600), as JSON."""
    [path] = (tmp_path / "state").glob(f"{database}-*.json")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return json.loads(path.read_text())


def hold_first_table(conn, database):
    """LOCK TABLES ... WRITE on one table: the backup's dump then waits on it, in flight, until released."""
    with conn.cursor() as cur:
        cur.execute("SELECT MIN(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'", (database,))
        table = cur.fetchone()[0]
        cur.execute(f"LOCK TABLES `{database}`.`{table}` WRITE")


def dump_connection(watcher, database):
    """The id of the dump's connection once it is reading table rows, else None."""
    with watcher.cursor() as cur:
        cur.execute(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND INFO LIKE 'SELECT /*!40001 SQL_NO_CACHE */%%'",
            (database,),
        )
        row = cur.fetchone()
    return row[0] if row else None


def deploy_in_background(tmp_path, database, **extra):
    outcome = {}

    def run():
        outcome["result"], outcome["flat"] = deploy(tmp_path, database, "deploy.yml", **extra)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


BACKUP_FAULT_VARS = {
    "schemagate_skip_gate": True,  # the gate is not what is under test; production's backup is
    "deploy_backup": True,
    # The dump is held on a table lock the test takes; the write pause that aligns the manifest's snapshot
    # would wait on the same lock, so it is off here (tests/test_backup.py covers it).
    "backup_snapshot_lock_timeout": 0,
}


def binlog_bytes(admin) -> int:
    """How many bytes production's binary log holds (SHOW BINARY LOGS, summed): what its replicas replay."""
    with admin.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        return sum(int(row[1]) for row in cur.fetchall())


def database_names(admin) -> set:
    with admin.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        return {row[0] for row in cur.fetchall()}


def start_deploy(tmp_path, database, *args, environment=None, **extra):
    """ansible-playbook started in the background (its own process group), output to a file: (process, log path).

    For tests that signal the controller; finish_deploy() waits for it and returns (returncode, flat output)."""
    vars_file = tmp_path / f"deploy-{len(list(tmp_path.glob('deploy-*.json')))}.json"
    vars_file.write_text(json.dumps({
        "schemagate_database": database,
        "gate_report_root": str(tmp_path / "reports"),
        "schemagate_state_dir": str(tmp_path / "state"),
        **DEPLOY_VARS,
        **extra,
    }))
    log = tmp_path / f"{vars_file.stem}.log"
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1", PATH=f"{BIN}:{os.environ['PATH']}",
               **(environment or {}))
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen([os.path.join(BIN, "ansible-playbook"), *(args or ("deploy.yml",)), "-e", f"@{vars_file}"],
                                   cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    return process, log


def finish_deploy(process, log, timeout=300):
    process.wait(timeout=timeout)
    return process.returncode, " ".join(log.read_text(encoding="utf-8").split())


def processlist_id(watcher, database, info_prefix):
    """The id of the connection on ``database`` running a statement starting with ``info_prefix``, else None."""
    with watcher.cursor() as cur:
        cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND INFO LIKE %s",
                    (database, info_prefix.replace("%", "\\%") + "%"))
        row = cur.fetchone()
    return row[0] if row else None


def process_tree(root_pid):
    """``root_pid`` and every process descending from it (Ansible's workers are in sessions of their own)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sorted(tree)


def admin_credentials(sandbox_cfg) -> dict:
    """The sandbox admin's user and password, read from its option file as the client tools read it."""
    from plugins.module_utils.sandbox.sandbox import read_option

    return {key: read_option(sandbox_cfg.admin_cnf, key) for key in ("user", "password")}
