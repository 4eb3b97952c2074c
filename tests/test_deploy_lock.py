"""The deploy lock spans a whole deploy: a second deploy waits, then fails naming the holder."""
from __future__ import annotations

import pytest

from plugins.module_utils.deploy import deploy_lock
from plugins.module_utils.core.errors import SchemagateError


def test_one_deploy_at_a_time_naming_the_holder(database, connection_to):
    first, second = connection_to(database), connection_to(database)
    assert deploy_lock.acquire(first, database, "run-a", "alice@ci-1", ttl_seconds=600, wait_seconds=0)["changed"]
    assert not deploy_lock.acquire(first, database, "run-a", "alice@ci-1", 600, 0)["changed"]  # re-entrant
    with pytest.raises(SchemagateError) as refused:
        deploy_lock.acquire(second, database, "run-b", "bob@ci-2", ttl_seconds=600, wait_seconds=1)
    assert "Another deploy holds the deploy lock" in refused.value.message
    assert "alice@ci-1 (run run-a" in refused.value.message
    assert not deploy_lock.release(second, database, "run-b")  # only the holder releases
    assert deploy_lock.release(first, database, "run-a")
    assert deploy_lock.acquire(second, database, "run-b", "bob@ci-2", 600, 0)["changed"]


def test_an_abandoned_lock_expires(database, connection_to, admin):
    conn = connection_to(database)
    deploy_lock.acquire(conn, database, "dead-run", "crashed@ci", ttl_seconds=600, wait_seconds=0)
    with admin.cursor() as cur:  # as if its TTL had run out
        cur.execute(f"UPDATE `{database}`.schemagate_deploy_lock SET expires_at = NOW() - INTERVAL 1 SECOND")
    taken = deploy_lock.acquire(connection_to(database), database, "new-run", "next@ci", 600, 0)
    assert taken["changed"] and deploy_lock.current_holder(conn, database)["run_id"] == "new-run"
