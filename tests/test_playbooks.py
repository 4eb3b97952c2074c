"""deploy.yml and the migrate playbook, run by ansible-playbook against the sandbox."""
from __future__ import annotations

import json
import os
import re

import pytest

from helpers import load_structure, playbook, recap

from plugins.module_utils.core.catalog import diff_tables, fingerprint
from plugins.module_utils.sandbox.sandbox import read_option


# deploy.yml runs the gate first: keep its rehearsal small here (tests/test_gate.py covers it).
SMALL_GATE = {
    "gate_seed_rows": {},
    "gate_seed_default_rows": 300,
    "gate_benchmark_runs": 2,
    "gate_benchmark_warmup": 1,
    "schemagate_benchmark_file": "",  # a few hundred rows per table: plans are not the point here
}


@pytest.fixture
def target_vars(database, tmp_path):
    path = tmp_path / "target.json"
    path.write_text(json.dumps({"schemagate_database": database, "gate_report_root": str(tmp_path / "reports"), **SMALL_GATE}))
    return str(path)


def test_migrate_and_rollback_through_the_plain_migrate_playbook(database, target_vars, tables_of):
    before = fingerprint(tables_of(database))
    applied = playbook("playbooks/migrate.yml", extra_vars_file=target_vars)
    assert applied.returncode == 0, applied.stdout[-3000:]
    assert re.search(r"TASK \[migrate : Run migrate\] \*+\nchanged: \[sandbox\]", applied.stdout)
    assert diff_tables(load_structure("phase_b_schema.yaml"), tables_of(database, only=load_structure("phase_b_schema.yaml"))) == []
    result = playbook("playbooks/migrate.yml", "-e", "migrate_command=rollback", extra_vars_file=target_vars)
    assert result.returncode == 0, result.stdout[-3000:]
    assert fingerprint(tables_of(database)) == before


def test_a_set_with_one_bad_file_is_refused_before_any_migration_runs(database, target_vars, tables_of, migrations_copy, admin):
    """The whole set is read and checked first: the good migrations before the bad one are not applied either."""
    before = fingerprint(tables_of(database))
    last = sorted(name for name in os.listdir(migrations_copy) if name.endswith(".up.sql"))[-1]
    with open(os.path.join(migrations_copy, last), "a", encoding="utf-8") as handle:
        handle.write("\nINSERT INTO appointment_modification_stats (stat_type) VALUES ('never closed;\n")
    result = playbook("playbooks/migrate.yml", "-e", f"schemagate_migrations_dir={migrations_copy}", extra_vars_file=target_vars)
    assert result.returncode != 0 and "unterminated" in result.stdout.lower(), result.stdout[-3000:]
    assert fingerprint(tables_of(database)) == before
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,))
        assert cur.fetchone()[0] == len(tables_of(database))  # not even the bookkeeping tables were created


def test_a_password_given_to_ansible_never_shows_in_its_output(sandbox_cfg, database, tmp_path):
    password = read_option(sandbox_cfg.deploy_cnf, "password")
    vars_file = tmp_path / "secret.json"
    vars_file.write_text(
        json.dumps(
            {
                "schemagate_database": database,
                "schemagate_config_file": None,
                "schemagate_login_host": "127.0.0.1",
                "schemagate_login_port": sandbox_cfg.port,
                "schemagate_login_user": "schemagate_deploy",
                "schemagate_login_password": password,
                "gate_report_root": str(tmp_path / "reports"),
                # Everything the deploy writes lands under tmp_path/reports, so the scan below sees it all.
                "schemagate_state_dir": str(tmp_path / "reports" / "deploys"),
                "schemagate_backup_dir": str(tmp_path / "reports" / "backups"),
                **SMALL_GATE,
            }
        )
    )
    result = playbook("deploy.yml", "-vvv", extra_vars_file=str(vars_file))
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result.stdout)["changed"] >= 1
    assert password not in result.stdout and password not in result.stderr
    written = [path for path in (tmp_path / "reports").rglob("*") if path.is_file()]
    assert any(path.name.startswith(f"{database}-") and path.suffix == ".json" and path.parent.name == "deploys" for path in written)
    for path in written:  # gate reports, the deploy report, the pre-deploy state, the backup and its manifest
        assert password.encode() not in path.read_bytes(), path


def test_a_failing_migration_fails_the_play_with_one_clear_line(database, tmp_path, migrations_copy):
    with open(os.path.join(migrations_copy, "2025_10_02_000000_break_things.up.sql"), "w", encoding="utf-8") as handle:
        handle.write("CREATE TABLE half_done (id INT PRIMARY KEY);\nALTER TABLE no_such_table ADD COLUMN x INT;\n")
    with open(os.path.join(migrations_copy, "2025_10_02_000000_break_things.down.sql"), "w", encoding="utf-8") as handle:
        handle.write("DROP TABLE IF EXISTS half_done;\n")
    vars_file = tmp_path / "vars.json"
    # The gate would block this set; skipped here to reach production's migrate step.
    vars_file.write_text(json.dumps({"schemagate_database": database, "schemagate_migrations_dir": migrations_copy,
                                     "schemagate_skip_gate": True, "deploy_backup": False}))
    result = playbook("deploy.yml", extra_vars_file=str(vars_file))
    assert result.returncode != 0
    flat = " ".join(result.stdout.split())  # the YAML callback wraps long lines
    assert "Migration 2025_10_02_000000_break_things (up) failed at statement 2 of 2" in flat
    assert "had created: table half_done." in flat
    assert "failed_statement: ALTER TABLE no_such_table ADD COLUMN x INT" in flat
    assert "Traceback" not in result.stdout + result.stderr
