"""Interrupts of a real `ansible-playbook deploy.yml`: SIGTERM, SIGINT, a lost controller (kill -9), and the release path.

Each test makes one migration slow on purpose (a `SELECT SLEEP(..)` statement: a test fixture, not a migration anyone
ships), waits until the server shows that statement running, then signals the controller. Production must end
untouched or rolled back to its pre-deploy fingerprint, the report must say which, and the lock must be released;
after kill -9 the next run names the dead holder and `rollback.yml -e schemagate_release_lock=<run id>` recovers.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import tempfile

from helpers import (
    MIGRATIONS_DIR,
    NO_GATE,
    app_fingerprint,
    deploy,
    deploy_report,
    edit,
    finish_deploy,
    process_tree,
    processlist_id,
    start_deploy,
    wait_for,
)

from plugins.module_utils.core.bookkeeping import LOCK_TABLE
from plugins.module_utils.core.connection import ConnectionParams, MySQLError, connect
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.deploy import deploy_lock
from plugins.module_utils.sandbox import sandbox

SLEEP = "SELECT SLEEP(300)"
FIRST = "2025_10_01_060100_create_notification_configurations_table"
THIRD = "2025_10_01_060203_create_callback_requests_table"
ENGINE = ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;"


def slow_migrations(tmp_path, name, first):
    """A copy of the migrations whose ``name`` runs SELECT SLEEP first (statement 1) or after its CREATE TABLE."""
    copy = str(tmp_path / "migrations")
    shutil.copytree(MIGRATIONS_DIR, copy)
    path = os.path.join(copy, f"{name}.up.sql")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if first:
        text = f"{SLEEP};\n" + text
    else:
        edit(copy, name, "up", ENGINE, f"{ENGINE}\n{SLEEP};")
        return copy
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return copy


def lock_row(admin, database):
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (database, LOCK_TABLE))
        if cur.fetchone()[0] == 0:
            return None
    return deploy_lock.current_holder(admin, database)


def sleeping(admin, database):
    return processlist_id(admin, database, SLEEP)


def test_sigterm_during_migrate_rolls_back_reports_and_releases_the_lock(admin, server, production, tmp_path, started_deploys):
    before = app_fingerprint(admin, server, production)
    migrations = slow_migrations(tmp_path, THIRD, first=False)  # two migrations applied, the third halfway
    process, log = start_deploy(tmp_path, production, schemagate_migrations_dir=migrations, **NO_GATE)
    started_deploys.append(process)
    assert wait_for(lambda: sleeping(admin, production) or process.poll() is not None, attempts=3000)
    assert process.poll() is None, log.read_text()[-3000:]
    holder = lock_row(admin, production)
    assert holder is not None and holder["alive"] is True  # the guardian's connection is open
    os.kill(process.pid, signal.SIGTERM)
    code, flat = finish_deploy(process, log)
    assert code == 2, flat[-3000:]  # a failed play, not 143: the play ran its rescue and always
    assert "schemagate: SIGTERM received: stopping the deploy safely" in flat
    assert "Interrupted (SIGTERM) during " + THIRD in flat and "production rolled back: undid" in flat
    assert "INTERRUPTED (SIGTERM): deploy of " + production + " stopped; production rolled back" in flat
    report = deploy_report(tmp_path, production)
    assert report["outcome"] == "interrupted; production rolled back to its pre-deploy schema (verified)", report
    assert report["interrupted"] == "SIGTERM"
    assert report["undone_by_runner"][0] == THIRD and len(report["undone_by_runner"]) == 3
    assert f"DEPLOY {production}: {report['outcome']}" in flat
    assert app_fingerprint(admin, server, production) == before
    assert sleeping(admin, production) is None  # the statement in flight was stopped, not orphaned
    assert lock_row(admin, production) is None
    assert wait_for(lambda: _guard_free(admin, production, holder["run_id"]), attempts=200)  # the guardian let go


def _guard_free(admin, database, run_id):
    with admin.cursor() as cur:
        cur.execute("SELECT IS_USED_LOCK(%s)", (deploy_lock.guard_lock_name(database, run_id),))
        return cur.fetchone()[0] is None


def test_sigint_before_any_migration_changed_production_leaves_it_untouched(admin, server, production, tmp_path, started_deploys):
    before = app_fingerprint(admin, server, production)
    migrations = slow_migrations(tmp_path, FIRST, first=True)  # statement 1 of the first migration is in flight
    process, log = start_deploy(tmp_path, production, schemagate_migrations_dir=migrations, **NO_GATE)
    started_deploys.append(process)
    assert wait_for(lambda: sleeping(admin, production) or process.poll() is not None, attempts=3000)
    assert process.poll() is None, log.read_text()[-3000:]
    os.kill(process.pid, signal.SIGINT)
    code, flat = finish_deploy(process, log)
    assert code != 0, flat[-3000:]
    assert "schemagate: SIGINT received" in flat and "User interrupted execution" not in flat
    assert "Interrupted (SIGINT) during " + FIRST + " (statement 1 of" in flat
    assert "before any migration changed production; production unchanged" in flat
    report = deploy_report(tmp_path, production)
    assert report["outcome"] == "interrupted before any migration; production untouched (verified unchanged)", report
    assert report["interrupted"] == "SIGINT" and report["undone_by_runner"] == []
    assert app_fingerprint(admin, server, production) == before
    assert sleeping(admin, production) is None and lock_row(admin, production) is None


def sleeping_on_a_rehearsal_server(database):
    """Whether an embedded rehearsal server runs the fixture's SLEEP on ``database`` (the restored backup)."""
    for root in glob.glob(os.path.join(tempfile.gettempdir(), sandbox.REHEARSAL_PREFIX + "*")):
        try:
            conn = connect(ConnectionParams(unix_socket=os.path.join(root, "mysqld.sock"), config_file=os.path.join(root, "admin.cnf")))
        except (MySQLError, OSError, SchemagateError):
            continue  # starting (no option file yet), stopping, or not ours
        try:
            if processlist_id(conn, database, SLEEP) is not None:
                return True
        finally:
            conn.close()
    return False


def test_sigint_during_the_rehearsal_on_the_restored_backup_leaves_production_untouched(admin, server, production, tmp_path, started_deploys):
    before = app_fingerprint(admin, server, production)
    migrations = slow_migrations(tmp_path, FIRST, first=True)
    process, log = start_deploy(tmp_path, production, schemagate_migrations_dir=migrations, deploy_backup=True,
                                schemagate_backup_dir=str(tmp_path / "backups"), **NO_GATE)
    started_deploys.append(process)
    assert wait_for(lambda: sleeping_on_a_rehearsal_server(production) or process.poll() is not None, attempts=3000)
    assert process.poll() is None, log.read_text()[-3000:]
    assert sleeping(admin, production) is None  # the slow statement runs on the restored copy, not on production
    os.kill(process.pid, signal.SIGINT)
    code, flat = finish_deploy(process, log)
    assert code != 0, flat[-3000:]
    assert f"so production was not migrated: Interrupted (SIGINT) during {FIRST}" in flat
    assert f"INTERRUPTED (SIGINT): deploy of {production} stopped; production untouched" in flat
    assert "TASK [migrate : Run migrate]" not in flat
    report = deploy_report(tmp_path, production)
    assert report["outcome"] == "interrupted before any migration; production untouched (verified unchanged)", report
    assert report["rehearsal_on_restored"]["passed"] is False and report["backup"]["verified"] is True
    assert app_fingerprint(admin, server, production) == before and lock_row(admin, production) is None
    assert not sleeping_on_a_rehearsal_server(production)  # the deploy's rehearsal server went with it


def test_a_lost_controller_makes_the_module_undo_its_run_and_leaves_a_dead_holder(admin, server, production, tmp_path, started_deploys):
    before = app_fingerprint(admin, server, production)
    migrations = slow_migrations(tmp_path, THIRD, first=False)
    # Without the interrupts callback (nothing names the controller to the modules): they find it themselves.
    without_callback = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.junit", "JUNIT_OUTPUT_DIR": str(tmp_path / "junit")}
    process, log = start_deploy(tmp_path, production, schemagate_migrations_dir=migrations, environment=without_callback, **NO_GATE)
    started_deploys.append(process)
    assert wait_for(lambda: sleeping(admin, production) or process.poll() is not None, attempts=3000)
    assert process.poll() is None, log.read_text()[-3000:]
    assert lock_row(admin, production)["alive"] is True
    run_id = lock_row(admin, production)["run_id"]
    os.kill(process.pid, signal.SIGKILL)  # the controller only: no handler runs there, nothing is forwarded
    process.wait(timeout=60)
    # The module sees its controller gone: it stops the statement in flight and undoes its run by itself
    # (not orphaned to finish unobserved); the guardian's connection closes, so the holder is dead.
    assert wait_for(lambda: sleeping(admin, production) is None, attempts=1200)
    assert wait_for(lambda: lock_row(admin, production)["alive"] is False, attempts=1200)
    assert wait_for(lambda: app_fingerprint(admin, server, production) == before, attempts=1200)
    released, flat = deploy(tmp_path, production, "playbooks/rollback.yml", schemagate_release_lock=run_id)
    assert released.returncode == 0, flat[-3000:]
    assert f"DEAD HOLDER {run_id} on {production}" in flat and "gone, last seen alive" in flat
    assert f"RELEASED the deploy lock of dead run {run_id} on {production}: production was unchanged" in flat
    assert lock_row(admin, production) is None and app_fingerprint(admin, server, production) == before


def test_kill_9_of_everything_leaves_a_dead_holder_the_next_run_names_and_release_rolls_back(admin, server, production, tmp_path, started_deploys):
    before = app_fingerprint(admin, server, production)
    migrations = slow_migrations(tmp_path, THIRD, first=False)
    process, log = start_deploy(tmp_path, production, schemagate_migrations_dir=migrations, **NO_GATE)
    started_deploys.append(process)
    assert wait_for(lambda: sleeping(admin, production) or process.poll() is not None, attempts=3000)
    assert process.poll() is None, log.read_text()[-3000:]
    run_id = lock_row(admin, production)["run_id"]
    tree = process_tree(process.pid)  # controller, worker, shell and the migrate module: none of them can act
    assert len(tree) >= 3
    for pid in tree:
        os.kill(pid, signal.SIGKILL)
    process.wait(timeout=60)
    # The dead module's statement runs on in its server session until it ends by itself (the server cannot tell its
    # client is gone); end it now rather than wait out the fixture's SLEEP. What is left is a half-migration.
    with admin.cursor() as cur:
        cur.execute("KILL %s" % int(sleeping(admin, production)))
    assert wait_for(lambda: lock_row(admin, production)["alive"] is False, attempts=1200)
    assert app_fingerprint(admin, server, production) != before
    # The next deploy refuses at once, naming the dead holder and the documented recovery command.
    result, flat = deploy(tmp_path, production, "deploy.yml", schemagate_migrations_dir=migrations, **NO_GATE)
    assert result.returncode != 0
    assert f"is held by a dead holder {run_id}" in flat and "gone, last seen alive" in flat
    assert f"Recover with: ansible-playbook playbooks/rollback.yml -e schemagate_release_lock={run_id}" in flat
    assert lock_row(admin, production)["run_id"] == run_id
    other, flat_other = deploy(tmp_path, production, "playbooks/rollback.yml", schemagate_release_lock="other-run")
    assert other.returncode != 0 and f"Run other-run does not hold the deploy lock on '{production}'" in flat_other
    # The release path undoes exactly what the killed run left (two migrations and the partial third), verifies, releases.
    released, flat_released = deploy(tmp_path, production, "playbooks/rollback.yml", schemagate_release_lock=run_id,
                                     schemagate_migrations_dir=migrations)
    assert released.returncode == 0, flat_released[-3000:]
    assert f"EMERGENCY ROLLBACK (migrations) on {production}: verified" in flat_released
    assert f"RELEASED the deploy lock of dead run {run_id} on {production}: production rolled back (3 migration(s) undone)" in flat_released
    assert lock_row(admin, production) is None
    assert app_fingerprint(admin, server, production) == before


def test_release_refuses_a_live_holder(admin, production, tmp_path, connection_to):
    live = connection_to(production)
    with live.cursor() as cur:  # a live deploy: its guardian's connection holds the guard lock
        cur.execute("SELECT GET_LOCK(%s, 0)", (deploy_lock.guard_lock_name(production, "live-run"),))
    deploy_lock.acquire(live, production, "live-run", "alice@release-box", ttl_seconds=600, wait_seconds=0,
                        connection_id=live.thread_id())
    refused, flat = deploy(tmp_path, production, "playbooks/rollback.yml", schemagate_release_lock="live-run")
    assert refused.returncode != 0
    assert "Refusing to release the deploy lock" in flat and "alice@release-box (run live-run) is alive" in flat
    assert f"(connection {live.thread_id()} still open)" in flat
    assert lock_row(admin, production)["run_id"] == "live-run"  # nothing released
    assert not json.dumps(lock_row(admin, production)).count("password")


def test_an_undo_is_never_left_halfway_by_signals_even_when_ansible_kills_its_worker(
        admin, production, tmp_path, runner_for, connection_to, started_deploys):
    # What Ansible does on a second SIGTERM: the controller forwards it to the worker, which sends it to its process
    # group (the module) and exits; the controller exits 143. The rollback module notes the signal and finishes.
    runner_for(production).migrate()
    last = "2025_10_01_060400_create_appointment_modification_stats_table"
    blocker = connection_to(production)
    with blocker.cursor() as cur:  # the down's DROP TABLE waits on this metadata lock, in flight, until released
        cur.execute("LOCK TABLES appointment_modification_stats READ")
    process, log = start_deploy(tmp_path, production, "playbooks/migrate.yml", migrate_command="rollback",
                                migrate_rollback_steps=1, migrate_ddl_lock_wait_timeout=300)
    started_deploys.append(process)
    assert wait_for(lambda: processlist_id(admin, production, "DROP TABLE IF EXISTS appointment_modification_stats")
                    or process.poll() is not None, attempts=3000)
    assert process.poll() is None, log.read_text()[-3000:]
    module = _modules(process)
    os.kill(process.pid, signal.SIGTERM)  # the callback's stop request: a rollback is not stopped by it
    assert "schemagate: SIGTERM received" in _wait_for_text(log, "schemagate: SIGTERM received")
    os.kill(process.pid, signal.SIGTERM)  # Ansible's own handling: forwarded to the module, worker and controller exit
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGTERM and len(module) == 1  # the shell's 143
    assert os.path.exists(f"/proc/{module[0]}")  # the module lives on, orphaned, finishing the undo
    with blocker.cursor() as cur:
        cur.execute("UNLOCK TABLES")
    assert wait_for(lambda: not os.path.exists(f"/proc/{module[0]}") or "Z" == _state(module[0]), attempts=1200)
    status = {s.migration: s.state.value for s in runner_for(production).status()}
    assert status[last] == "pending" and "partial" not in status.values()


def _modules(process):
    """The module processes under a controller: the Python processes that are not Ansible itself (with pipelining a
    module is a bare interpreter reading its payload from stdin, so its command line does not name it)."""
    found = []
    for pid in process_tree(process.pid):
        argv = [arg for arg in _cmdline(pid).split("\0") if arg]
        if argv and os.path.basename(argv[0]).startswith("python") and not any("ansible-playbook" in arg for arg in argv):
            found.append(pid)
    return found


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _wait_for_text(log, text):
    wait_for(lambda: text in log.read_text(encoding="utf-8"), attempts=600)
    return log.read_text(encoding="utf-8")


def test_sigint_while_waiting_for_another_deploys_lock_stops_the_wait_and_leaves_that_lock(
        admin, production, tmp_path, connection_to, started_deploys):
    live = connection_to(production)
    with live.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, 0)", (deploy_lock.guard_lock_name(production, "busy-run"),))
    deploy_lock.acquire(live, production, "busy-run", "bob@release-box", ttl_seconds=600, wait_seconds=0,
                        connection_id=live.thread_id())
    process, log = start_deploy(tmp_path, production, deploy_lock_wait=600, **NO_GATE)
    started_deploys.append(process)

    def waiting():  # the lock's task has started: the module takes the lock, or waits for it
        return "TASK [Take the deploy lock" in log.read_text(encoding="utf-8") and bool(_modules(process))

    assert wait_for(lambda: waiting() or process.poll() is not None, attempts=3000)
    assert process.poll() is None, log.read_text()[-3000:]
    os.kill(process.pid, signal.SIGINT)
    code, flat = finish_deploy(process, log, timeout=120)
    assert code == 2, flat[-3000:]
    assert "Interrupted (SIGINT) while waiting for the deploy lock" in flat and "bob@release-box (run busy-run)" in flat
    report = deploy_report(tmp_path, production)
    assert report["outcome"] == "interrupted before the deploy lock was taken; production untouched", report
    assert lock_row(admin, production)["run_id"] == "busy-run"  # the other deploy's lock is left as it was
