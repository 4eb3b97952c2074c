"""Issue 15 item 4: the backup and the restore never hold up production's writes behind an open transaction.

Each lock they take waits at most 1 s per attempt and is retried; the blocker is named. These tests assert
the behaviour (the retry happened, the blocker was named, the operation finished or failed in one line);
benchmarks/write_stall.py measures the writers' latency.
"""
from __future__ import annotations

import threading

import pytest

from helpers import create_production, drop_with_scratch, wait_for

from plugins.module_utils.backup import backup, restore
from plugins.module_utils.core.catalog import schema_fingerprint
from plugins.module_utils.core.connection import connect
from plugins.module_utils.core.errors import SchemagateError


@pytest.fixture
def tenant(admin):
    name = create_production(admin)
    yield name
    drop_with_scratch(admin, name)


def open_transaction(sandbox_cfg, database):
    """An ordinary open transaction: one row updated, not committed. Returns (connection, its id)."""
    conn = connect(sandbox_cfg.admin_params(), database, autocommit=False)
    with conn.cursor() as cur:
        cur.execute("UPDATE companies SET name = name WHERE id = (SELECT MIN(id) FROM (SELECT id FROM companies) AS c)")
        cur.execute("SELECT CONNECTION_ID()")
        return conn, cur.fetchone()[0]


def waiting(admin, prefix: str) -> bool:
    """A statement starting with ``prefix`` is waiting for a metadata lock right now."""
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for %%lock%%' AND INFO LIKE %s",
                    (prefix + "%",))
        return cur.fetchone()[0] > 0


def commit_after_first_attempt(admin, blocker, prefix: str) -> threading.Thread:
    """Commit the blocker once an attempt of ``prefix`` has waited and given up (so a retry must follow)."""
    def run():
        assert wait_for(lambda: waiting(admin, prefix)), "the locking statement never waited"
        assert wait_for(lambda: not waiting(admin, prefix)), "the attempt never gave up"
        blocker.commit()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_backup_write_pause_retries_in_one_second_attempts_and_names_the_blocker(tenant, sandbox_cfg, admin, server, tmp_path):
    params = sandbox_cfg.admin_params()
    conn = connect(params)
    blocker, blocker_id = open_transaction(sandbox_cfg, tenant)
    try:
        with pytest.raises(SchemagateError) as failure:
            backup.take_backup(params, conn, server, tenant, str(tmp_path / "a"), label="blocked", snapshot_lock_timeout=5)
        message = failure.value.message
        assert "\n" not in message and "did not get its locks in" in message and "attempt(s) of 1 s" in message
        assert f"blocked by connection {blocker_id} (" in message and "snapshot_lock_timeout: 0" in message
        assert failure.value.details["attempts"] >= 2
        assert not (tmp_path / "a").exists() or not list((tmp_path / "a").iterdir())  # nothing kept
        committer = commit_after_first_attempt(admin, blocker, "LOCK TABLES")
        taken = backup.take_backup(params, conn, server, tenant, str(tmp_path / "b"), label="retried", snapshot_lock_timeout=30)
        committer.join()
        [wait] = taken["manifest"].consistency["lock_waits"]
        assert wait["finished"] and wait["attempts"] >= 2 and wait["blocked_by"][0]["id"] == blocker_id
        assert "UPDATE companies" in wait["blocked_by"][0]["statement"] or "Sleep" in wait["blocker"] or "idle" in wait["blocker"]
    finally:
        blocker.close()
        conn.close()


def test_restore_swap_retries_in_one_second_attempts_names_the_blocker_and_leaves_production_unchanged(
        tenant, sandbox_cfg, admin, server, tmp_path):
    params = sandbox_cfg.admin_params()
    conn = connect(params)
    try:
        taken = backup.take_backup(params, conn, server, tenant, str(tmp_path), label="s")
        backup.verify_backup(params, conn, server, taken["manifest_file"])
        before = schema_fingerprint(admin, tenant, server)["fingerprint"]
        blocker, blocker_id = open_transaction(sandbox_cfg, tenant)
        with pytest.raises(SchemagateError) as failure:
            restore.restore_backup(params, conn, server, taken["manifest_file"], tenant, "blocked", lock_budget_seconds=5)
        message = failure.value.message
        assert "\n" not in message and "production is unchanged" in message
        assert "RENAME TABLE" in message and f"blocked by connection {blocker_id} (" in message
        assert schema_fingerprint(admin, tenant, server)["fingerprint"] == before
        committer = commit_after_first_attempt(admin, blocker, "RENAME TABLE")
        result = restore.restore_backup(params, conn, server, taken["manifest_file"], tenant, "retried", lock_budget_seconds=30)
        committer.join()
        blocker.close()
        [wait] = result["lock_waits"]
        assert wait["finished"] and wait["attempts"] >= 2 and wait["blocked_by"][0]["id"] == blocker_id
        assert result["differences_after_restore"] == []
    finally:
        conn.close()
