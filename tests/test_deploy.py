"""deploy.yml and rollback.yml end to end: smoke test, emergency rollback, idempotence."""
from __future__ import annotations

import json
import os
import re
import shutil

from helpers import (
    BACKUP_FAULT_VARS,
    MIGRATIONS_DIR,
    NO_GATE,
    app_fingerprint,
    deploy,
    deploy_in_background,
    deploy_report,
    dump_connection,
    edit,
    hold_first_table,
    load_structure,
    recap,
    snapshot,
    wait_for,
)

from plugins.module_utils.core.catalog import diff_tables


def expected_migrations():
    return [name[: -len(".up.sql")] for name in os.listdir(MIGRATIONS_DIR) if name.endswith(".up.sql")]


def test_deploy_gates_migrates_smoke_tests_then_has_nothing_to_do(admin, server, production, tmp_path, tables_of):
    result, flat = deploy(tmp_path, production, "deploy.yml")
    assert result.returncode == 0, flat[-3000:]
    assert "GATE PASSED" in flat and "SMOKE TEST PASSED" in flat
    assert re.search(r"TASK \[migrate : Run migrate\] \*+\nchanged: \[sandbox\]", result.stdout)
    expected = load_structure("phase_b_schema.yaml")
    assert diff_tables(expected, tables_of(production, only=expected)) == []
    report = deploy_report(tmp_path, production)
    assert report["outcome"] == "deployed" and report["gate"]["passed"] is True and report["smoke_test"]["passed"] is True
    assert [step["migration"] for step in report["migrations"]] == sorted(expected_migrations())
    assert f"DEPLOY {production}: deployed in" in flat
    predeploy = json.loads((tmp_path / "state" / f"{production}.predeploy.json").read_text())
    assert oct(os.stat(tmp_path / "state" / f"{production}.predeploy.json").st_mode & 0o777) == "0o600"
    assert len(predeploy["pending"]) == 6
    again, flat_again = deploy(tmp_path, production, "deploy.yml")
    assert again.returncode == 0, flat_again[-3000:]
    assert recap(again.stdout)["changed"] == 0
    assert "nothing pending; no backup taken, nothing changed" in flat_again
    deploy_report(tmp_path, production)  # still the one report: a deploy with nothing to do writes none


def test_a_migration_failing_on_production_is_rolled_back_and_the_play_fails(admin, server, production, tmp_path):
    broken = str(tmp_path / "migrations")
    shutil.copytree(MIGRATIONS_DIR, broken)
    edit(broken, "2025_10_01_060203_create_callback_requests_table", "up",
         ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;",
         ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\nCREATE INDEX idx_broken ON callback_requests (no_such_column);")
    before = snapshot(admin, server, production)
    # The gate would block this set; skip it to prove the last line of defence. A migrations table of another
    # name must be left out of every fingerprint the rescue compares (it used to be: "could not be verified").
    result, flat = deploy(tmp_path, production, "deploy.yml", schemagate_skip_gate=True, schemagate_migrations_dir=broken,
                          schemagate_migrations_table="app_schema_history")
    assert result.returncode != 0
    assert "WARNING: the pre-deploy gate was SKIPPED" in flat
    assert "EMERGENCY ROLLBACK (migrations) on " + production + ": verified" in flat
    assert "failed and was rolled back (3 migration(s) undone" in flat
    assert "failed at statement 2 of 2" in flat
    report = deploy_report(tmp_path, production)
    assert report["outcome"] == "rolled back; production verified against its pre-deploy schema"
    assert "failed at statement 2 of 2" in report["failure"] and len(report["emergency_rollback"]["undone"]) == 3
    after = snapshot(admin, server, production)
    assert {table: after[1][table] for table in before[1]} == before[1]  # base rows untouched
    assert app_fingerprint(admin, server, production, "app_schema_history") == json.loads(
        (tmp_path / "state" / f"{production}.predeploy.json").read_text())["fingerprint"]


def test_schema_drift_after_migrating_fails_the_smoke_test_and_rolls_back(admin, server, production, tmp_path):
    before = app_fingerprint(admin, server, production)
    result, flat = deploy(tmp_path, production, "deploy.yml", smoke_test_expected_fingerprint="0" * 64, **NO_GATE)
    assert result.returncode != 0
    assert "SMOKE TEST FAILED" in flat and "schema drifted" in flat
    assert "failed and was rolled back (6 migration(s) undone" in flat
    assert app_fingerprint(admin, server, production) == before


def test_rollback_playbook_restores_the_pre_deploy_schema_with_base_data_intact(admin, server, production, tmp_path):
    base_before = snapshot(admin, server, production)[1]
    fingerprint_before = app_fingerprint(admin, server, production)
    result, flat = deploy(tmp_path, production, "deploy.yml", **NO_GATE)
    assert result.returncode == 0, flat[-3000:]
    assert app_fingerprint(admin, server, production) != fingerprint_before
    rolled, flat_rolled = deploy(tmp_path, production, "playbooks/rollback.yml")
    assert rolled.returncode == 0, flat_rolled[-3000:]
    assert "EMERGENCY ROLLBACK (migrations) on " + production + ": verified" in flat_rolled
    assert "no pre-deploy fingerprint" not in flat_rolled  # it compared with the fingerprint deploy.yml recorded
    assert app_fingerprint(admin, server, production) == fingerprint_before
    base_after = snapshot(admin, server, production)[1]
    assert {t: v for t, v in base_after.items() if t in base_before} == base_before


def test_rollback_without_a_pre_deploy_fingerprint_says_so(database, tmp_path):
    # schemagate_state_dir points at a directory no deploy.yml wrote to: the rollback can only check the
    # migrations' tables are gone, and must say it did not compare the schema.
    rolled, flat = deploy(tmp_path, database, "playbooks/rollback.yml", schemagate_state_dir=str(tmp_path / "elsewhere"))
    assert rolled.returncode == 0, flat[-3000:]
    assert f"WARNING: no pre-deploy fingerprint ({tmp_path / 'elsewhere'}/{database}.predeploy.json not found)" in flat
    assert f"EMERGENCY ROLLBACK (migrations) on {database}: verified" in flat


def test_check_mode_runs_the_gate_and_changes_nothing_on_production(admin, server, production, tmp_path):
    before = snapshot(admin, server, production)
    result, flat = deploy(tmp_path, production, "deploy.yml", "--check")
    assert result.returncode == 0, flat[-3000:]
    assert "GATE PASSED" in flat and "would run (migrate)" in flat
    assert "2025_10_01_060100_create_notification_configurations_table" in flat
    assert snapshot(admin, server, production) == before
    assert not (tmp_path / "state").exists()


def test_a_second_deploy_waits_for_the_lock_then_fails_naming_the_holder(admin, server, production, tmp_path, connection_to):
    from plugins.module_utils.deploy import deploy_lock

    holder = connection_to(production)
    deploy_lock.acquire(holder, production, "other-run", "carol@release-box", ttl_seconds=600, wait_seconds=0)
    before = snapshot(admin, server, production)
    result, flat = deploy(tmp_path, production, "deploy.yml", schemagate_skip_gate=True, deploy_lock_wait=1)
    assert result.returncode != 0
    assert "Another deploy holds the deploy lock" in flat and "carol@release-box (run other-run" in flat
    assert {t: v for t, v in snapshot(admin, server, production)[1].items() if t in before[1]} == before[1]
    assert deploy_lock.current_holder(holder, production)["run_id"] == "other-run"  # not released by the loser
    assert deploy_report(tmp_path, production)["outcome"] == "not started: the deploy lock was not taken"


def test_deploy_takes_a_verified_backup_and_rollback_can_restore_it(admin, server, production, tmp_path):
    before = snapshot(admin, server, production)
    fingerprint_before = app_fingerprint(admin, server, production)
    backups = tmp_path / "backups"
    result, flat = deploy(tmp_path, production, "deploy.yml", deploy_backup=True, schemagate_backup_dir=str(backups), **NO_GATE)
    assert result.returncode == 0, flat[-3000:]
    report = deploy_report(tmp_path, production)
    assert report["gate"]["skipped"] is True and report["backup"]["verified"] is True
    assert report["backup"]["file"].startswith(str(backups)) and report["backup"]["restore_seconds"] is not None
    # Verified on the rehearsal server as the dump was written, then the pending migrations were rehearsed there.
    assert report["backup"]["verified_on"] and report["backup"]["backup_and_verify_seconds"] > 0
    rehearsal = report["rehearsal_on_restored"]
    assert rehearsal["passed"] is True and rehearsal["database"] == production
    assert [run["migration"] for run in rehearsal["migrations"]] == sorted(expected_migrations())
    assert all(run["duration_ms"] is not None for run in rehearsal["migrations"])
    assert "Rehearsed on the restored backup" in flat and "kept there for the rehearsal on the production rows" in flat
    manifests = list(backups.glob(f"{production}-*.manifest.json"))
    assert len(manifests) == 1 and json.loads(manifests[0].read_text())["verified"] is True
    for path in backups.iterdir():
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    # rollback.yml finds the backup where the deploy wrote it, through the same schemagate_backup_dir.
    restored, flat_restored = deploy(tmp_path, production, "playbooks/rollback.yml", emergency_rollback_mode="backup", schemagate_backup_dir=str(backups))
    assert restored.returncode == 0, flat_restored[-3000:]
    assert "EMERGENCY ROLLBACK (backup) on " + production + ": verified" in flat_restored
    # It says what it restored (it used to read a key the restore never returned and print "undone: nothing").
    assert re.search(r"undone: restored \S+\.manifest\.json \(\d+ tables swapped in", flat_restored), flat_restored[-3000:]
    assert app_fingerprint(admin, server, production) == fingerprint_before
    after = snapshot(admin, server, production)[1]
    assert {table: after[table] for table in before[1]} == before[1]
    with admin.cursor() as cur:  # what the restore replaced is kept, never dropped
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (production.replace("_", "\\_") + "\\_sg\\_old\\_%",))
        kept = cur.fetchone()[0]
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (production.replace("_", "\\_") + "\\_sg\\_old\\_%",))
        for (name,) in cur.fetchall():
            cur.execute(f"DROP DATABASE `{name}`")
    assert kept == 1


def test_a_unique_over_productions_duplicates_stops_the_deploy_on_the_restored_backup(admin, server, production, migrations_copy, tmp_path):
    """Synthetic rows have no duplicates; production's do. The rehearsal on the restored backup finds them."""
    with admin.cursor() as cur:
        cur.execute(f"UPDATE `{production}`.customers SET email = 'same@example.com' ORDER BY id LIMIT 2")
        assert cur.rowcount == 2
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        databases = {row[0] for row in cur.fetchall()}
    name = "2025_10_02_000000_unique_customer_emails"
    with open(os.path.join(migrations_copy, f"{name}.up.sql"), "w", encoding="utf-8") as handle:
        handle.write("ALTER TABLE customers ADD UNIQUE KEY customers_email_unique (email);\n")
    with open(os.path.join(migrations_copy, f"{name}.down.sql"), "w", encoding="utf-8") as handle:
        handle.write("ALTER TABLE customers DROP INDEX customers_email_unique;\n")
    before, fingerprint_before = snapshot(admin, server, production), app_fingerprint(admin, server, production)
    result, flat = deploy(tmp_path, production, "deploy.yml", deploy_backup=True, schemagate_backup_dir=str(tmp_path / "backups"),
                          schemagate_migrations_dir=migrations_copy, **NO_GATE)
    assert result.returncode != 0
    assert (f"The pending migrations failed on the restored backup of {production} (production's own rows, on the rehearsal "
            "server), so production was not migrated") in flat, flat[-3000:]
    assert "Duplicate entry 'same@example.com'" in flat
    assert f"Deploy of {production} aborted before any migration was applied; production is unchanged" in flat
    assert "TASK [migrate : Run migrate]" not in result.stdout
    report = deploy_report(tmp_path, production)
    assert report["outcome"] == "aborted before any migration; production verified unchanged"
    assert report["rehearsal_on_restored"]["passed"] is False and "Duplicate entry" in report["rehearsal_on_restored"]["failure"]
    assert report["migrations"] == [] and report["backup"]["verified"] is True
    after = snapshot(admin, server, production)[1]
    assert {table: after[table] for table in before[1]} == before[1]  # every row as it was (the lock's bookkeeping aside)
    assert app_fingerprint(admin, server, production) == fingerprint_before
    with admin.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        assert {row[0] for row in cur.fetchall()} == databases  # the restore and the rehearsal happened elsewhere


# --------------------------------------------------------------------------
# The backup fails mid-dump: the deploy must stop before any migration
# --------------------------------------------------------------------------


def test_connection_dropped_during_the_backup_aborts_the_deploy_before_any_migration(admin, server, production, tmp_path, connection_to):
    before = snapshot(admin, server, production)
    fingerprint_before = app_fingerprint(admin, server, production)
    backups = tmp_path / "backups"
    blocker, watcher = connection_to(production), connection_to(production)
    hold_first_table(blocker, production)
    thread, outcome = deploy_in_background(tmp_path, production, backup_dir=str(backups), **BACKUP_FAULT_VARS)
    try:
        assert wait_for(lambda: dump_connection(watcher, production) is not None, attempts=3000), "the backup's dump never started"
        with admin.cursor() as cur:
            cur.execute(f"KILL CONNECTION {int(dump_connection(watcher, production))}")  # the dump's connection drops
    finally:
        with blocker.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        thread.join(timeout=300)
    result, flat = outcome["result"], outcome["flat"]
    assert result.returncode != 0
    assert f"DEPLOY FAILED on {production}: Back up, verify and apply retention" in flat, flat[-3000:]
    assert "nothing was kept (the partial backup file was removed)" in flat
    assert f"Deploy of {production} aborted before any migration was applied; production is unchanged" in flat
    assert "Apply the pending migrations" not in flat and "EMERGENCY ROLLBACK" not in flat
    report = deploy_report(tmp_path, production)
    assert report["outcome"] == "aborted before any migration; production verified unchanged"
    assert report["migrations"] == [] and report["backup"] is not None and report["backup"]["verified"] is False
    after = snapshot(admin, server, production)
    assert {table: after[1][table] for table in before[1]} == before[1]  # base rows untouched
    assert app_fingerprint(admin, server, production) == fingerprint_before
    assert not backups.exists() or list(backups.iterdir()) == []
    with admin.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{production}`.schemagate_deploy_lock")
        assert cur.fetchone()[0] == 0  # the lock was released on the way out


def test_a_migration_that_stopped_halfway_is_undone_by_its_down_without_a_restore(admin, server, production, tmp_path):
    # Issue 15, fault 3: the down was written for the whole change, so running it whole fails at its first
    # statement (the foreign key was never created); the rollback runs only what applies, and no restore is needed.
    broken = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, broken)
    name = "2025_10_02_000000_link_customers_to_branches"
    (broken / f"{name}.up.sql").write_text(
        "ALTER TABLE customers ADD COLUMN home_branch_id BIGINT UNSIGNED NULL;\n"
        "CREATE INDEX idx_customers_home_branch ON customers (home_branch_id);\n"
        "ALTER TABLE customers ADD CONSTRAINT fk_customers_home_branch FOREIGN KEY (home_branch_id) REFERENCES branchez (id);\n"
    )
    (broken / f"{name}.down.sql").write_text(
        "ALTER TABLE customers DROP FOREIGN KEY fk_customers_home_branch;\n"
        "DROP INDEX idx_customers_home_branch ON customers;\n"
        "ALTER TABLE customers DROP COLUMN home_branch_id;\n"
    )
    before = snapshot(admin, server, production)
    result, flat = deploy(tmp_path, production, "deploy.yml", schemagate_skip_gate=True, schemagate_migrations_dir=str(broken))
    assert result.returncode != 0
    assert "failed at statement 3 of 3" in flat
    assert "EMERGENCY ROLLBACK (migrations) on " + production + ": verified" in flat  # by its down: no restore
    assert "failed and was rolled back (7 migration(s) undone" in flat
    after = snapshot(admin, server, production)
    assert {table: after[1][table] for table in before[1]} == before[1]
    assert app_fingerprint(admin, server, production) == json.loads(
        (tmp_path / "state" / f"{production}.predeploy.json").read_text())["fingerprint"]
    with admin.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{production}`.schemagate_migrations")
        assert cur.fetchone()[0] == 0  # nothing half-done left on record: rollback.yml has nothing more to do
