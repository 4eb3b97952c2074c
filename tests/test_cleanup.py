"""Issue 15 item 7: every run removes its own debris; the next one lists earlier runs' and removes it when asked."""
from __future__ import annotations

import os
import tempfile
import time

import pytest

from helpers import create_production, drop_with_scratch

from plugins.module_utils.backup import backup, cleanup, restore
from plugins.module_utils.core.bookkeeping import MARKER_TABLE
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.scratch import create_scratch

HOUR = 3600


@pytest.fixture
def tenant(admin):
    name = create_production(admin)
    yield name
    drop_with_scratch(admin, name)


def scratch_aged(admin, source: str, name: str, run_id: str, seconds: int) -> str:
    create_scratch(admin, source, name, run_id)
    with admin.cursor() as cur:
        cur.execute(f"UPDATE `{name}`.{MARKER_TABLE} SET created_at = NOW() - INTERVAL %s SECOND", (seconds,))
    return name


def age(path, seconds: int) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_clean_run_leaves_nothing_and_its_restore_marks_the_replaced_tables(tenant, admin, server, sandbox_cfg, tmp_path, monkeypatch):
    private_root = tmp_path / "tmp"
    private_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_root))
    params = sandbox_cfg.admin_params()
    backups = str(tmp_path / "backups")
    taken = backup.take_backup(params, admin, server, tenant, backups, label="clean")
    backup.verify_backup(params, admin, server, taken["manifest_file"])
    done = restore.restore_backup(params, admin, server, taken["manifest_file"], tenant, "clean1")
    nothing = {"scratch_databases": [], "partial_files": [], "unverified_backups": [], "private_directories": []}
    assert cleanup.find_debris(admin, tenant, backups, min_age_seconds=0, temp_dir=str(private_root)) == nothing
    [old] = [entry for entry in cleanup.marked_databases(admin, tenant) if entry["database"] == done["old_database"]]
    assert old["run_id"] == "clean1" and old["source"] == tenant  # so its retention may drop it one day


def test_earlier_runs_debris_is_listed_then_removed_on_request(tenant, admin, server, sandbox_cfg, tmp_path):
    backups = tmp_path / "backups"
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    stale = scratch_aged(admin, tenant, f"{tenant}_sg_verify_x1", "verify_x1", 2 * HOUR)
    young = scratch_aged(admin, tenant, f"{tenant}_sg_verify_x2", "verify_x2", 60)  # a run in progress: not debris
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{tenant}_sg_unmarked`")  # not schemagate's: never listed nor dropped
    taken = backup.take_backup(sandbox_cfg.admin_params(), admin, server, tenant, str(backups), label="unverified")
    age(taken["manifest_file"], 2 * HOUR)
    partial = backups / f"{tenant}-killed.sql.gz.partial"
    partial.write_bytes(b"\x1f\x8b half a dump")
    age(partial, 2 * HOUR)
    private = temp_root / "schemagate-backup-abc123"
    private.mkdir()
    (private / "dump.stderr").write_text("")
    age(private, 2 * HOUR)

    found = cleanup.find_debris(admin, tenant, str(backups), temp_dir=str(temp_root))
    lines = cleanup.describe_debris(found)
    assert [entry["database"] for entry in found["scratch_databases"]] == [stale]
    assert lines == [
        f"scratch database {stale} (run verify_x1, {found['scratch_databases'][0]['age_seconds']} s old)",
        f"partial backup file {partial} ({found['partial_files'][0]['age_seconds']} s old)",
        f"unverified backup {taken['manifest_file']} ({found['unverified_backups'][0]['age_seconds']} s old)",
        f"temporary directory {private} ({found['private_directories'][0]['age_seconds']} s old)",
    ]
    removed = cleanup.remove_debris(admin, tenant, found)
    assert len(removed) == 4
    assert cleanup.describe_debris(cleanup.find_debris(admin, tenant, str(backups), temp_dir=str(temp_root))) == []
    assert not partial.exists() and not private.exists()
    assert not os.path.exists(taken["manifest_file"]) and not os.path.exists(taken["backup_file"])
    names = {entry["database"] for entry in cleanup.marked_databases(admin, tenant)}
    assert young in names and f"{tenant}_sg_unmarked" in names and stale not in names


def test_retention_of_replaced_tables_keeps_the_newest_and_drops_only_old_marked_ones(tenant, admin):
    for run, days in (("r1", 10), ("r2", 9), ("r3", 8), ("r4", 1)):
        scratch_aged(admin, tenant, f"{tenant}_sg_old_{run}", run, days * 86400)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{tenant}_sg_old_legacy`")  # made before restores marked theirs
    pruned = cleanup.prune_old_databases(admin, tenant, keep=2, min_age_days=7)
    assert pruned == {"kept": [f"{tenant}_sg_old_r4", f"{tenant}_sg_old_r3"],
                      "removed": [f"{tenant}_sg_old_r2", f"{tenant}_sg_old_r1"],
                      "unmarked": [f"{tenant}_sg_old_legacy"]}
    assert cleanup.prune_old_databases(admin, tenant, keep=1, min_age_days=30)["removed"] == []  # none is 30 days old
    with pytest.raises(SchemagateError, match="old_keep must be at least 1"):
        cleanup.prune_old_databases(admin, tenant, keep=0)
