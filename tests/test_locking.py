"""Two runs against one database serialize on the migration lock (GET_LOCK); DDL never queues for long."""
from __future__ import annotations

import threading

import pytest

from helpers import wait_for

from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.migrate.locks import advisory_lock, lock_name
from plugins.module_utils.migrate.runner import MigrationFailed


def connection_id(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        return cur.fetchone()[0]


def test_a_second_run_waits_for_the_first_then_proceeds(database, runner_for, connection_to, admin):
    holder = connection_to(database)
    second = runner_for(database, lock_timeout=120)
    outcome = {}
    with advisory_lock(holder, database, timeout=5):
        thread = threading.Thread(target=lambda: outcome.update(result=second.migrate()))
        thread.start()

        def second_is_waiting():
            with admin.cursor() as cur:
                cur.execute(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE %s",
                    ("SELECT GET_LOCK(%",),
                )
                return cur.fetchone()[0] >= 1

        assert wait_for(second_is_waiting), "the second run never queued on the lock"
        assert "result" not in outcome  # still waiting while we hold the lock
    thread.join(timeout=120)
    assert outcome["result"].changed and len(outcome["result"].runs) == 6


def test_a_second_run_gives_up_naming_the_holder(database, runner_for, connection_to):
    holder = connection_to(database)
    holder_id = connection_id(holder)
    with advisory_lock(holder, database, timeout=5):
        with pytest.raises(SchemagateError) as failure:
            runner_for(database, lock_timeout=0).migrate()
    assert f"connection id {holder_id}" in failure.value.message
    assert lock_name(database) in failure.value.message
    # Once released, the same run goes through.
    assert runner_for(database, lock_timeout=0).migrate().changed


def test_the_lock_is_released_when_its_session_dies(database, runner_for, connection_to):
    holder = connection_to(database)
    with holder.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, 5)", (lock_name(database),))
    holder.close()  # a crashed deploy: no RELEASE_LOCK ever runs
    assert runner_for(database, lock_timeout=10).migrate().changed


def test_ddl_behind_a_long_transaction_fails_fast_naming_the_blocker(database, runner_for, connection_to):
    runner_for(database).migrate()
    blocker = connection_to(database)
    blocker_id = connection_id(blocker)
    blocker.begin()
    with blocker.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM appointment_modification_stats")  # holds a metadata lock until commit
        cur.fetchone()
    runner = runner_for(database, ddl_lock_wait_timeout=1)
    with pytest.raises(MigrationFailed) as failure:
        runner.rollback(steps=1)  # DROP TABLE appointment_modification_stats needs that lock
    blocker.rollback()
    message = failure.value.message
    assert "lock_wait_timeout=1s" in message
    assert f"connection {blocker_id}" in message
