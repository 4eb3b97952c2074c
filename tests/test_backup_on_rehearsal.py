"""The backup's verification restore on the rehearsal server, fed by the dump while the file is written.

Production's server sees only the dump's reads: its binary log does not grow and no database appears on it.
The restored copy bears production's name on the rehearsal server, and with ``keep_restored`` stays there,
verified, for the deploy to rehearse its migrations on production's rows.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from helpers import binlog_bytes, create_database, database_names, drop_with_scratch

from plugins.module_utils.backup import backup
from plugins.module_utils.core.catalog import fingerprint, portable_schema, read_schema
from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.core.dialect import detect_server
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.session import database_exists
from plugins.module_utils.sandbox import sandbox
from plugins.module_utils.sandbox.sample_data import SampleScale, seed_base_data


@pytest.fixture(scope="module")
def rehearsal():
    """An embedded rehearsal server (the gate's machinery), stopped when the module's tests are done."""
    watched = subprocess.Popen(["sleep", "900"])  # stands in for the controller the server watches
    started = sandbox.start_rehearsal(watched.pid)
    params = ConnectionParams(unix_socket=started["socket"], config_file=started["config_file"])
    conn = connect(params)
    yield backup.VerifyServer(params, conn, detect_server(conn), other_server=True)
    conn.close()
    sandbox.stop_rehearsal(started["path"])
    watched.kill()
    watched.wait()


@pytest.fixture
def production_db(admin, runner_for):
    name = create_database(admin)
    try:
        with admin.cursor() as cur:
            cur.execute(f"USE `{name}`")
        seed_base_data(admin, SampleScale.scaled(0.02))
        runner_for(name).migrate()
        with admin.cursor() as cur:
            cur.execute(f"CREATE VIEW `{name}`.active_customers AS SELECT id, company_id FROM `{name}`.customers WHERE deleted_at IS NULL")
        yield name
    finally:
        drop_with_scratch(admin, name)


def drop_restored(rehearsal, name):
    with rehearsal.conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def test_verified_on_the_rehearsal_server_while_the_dump_is_written(admin, server, deploy_params, production_db, rehearsal, tmp_path):
    databases, binlog = database_names(admin), binlog_bytes(admin)
    deploy = connect(deploy_params)
    try:
        taken = backup.take_verified_backup(
            deploy_params, deploy, server, production_db, str(tmp_path / "backups"), "streamed",
            verify_on=rehearsal, keep_restored=True,
        )
    finally:
        deploy.close()
    try:
        # Production's server saw nothing but reads.
        assert binlog_bytes(admin) == binlog
        assert database_names(admin) == databases
        with open(taken["manifest_file"], encoding="utf-8") as handle:
            manifest = json.load(handle)
        assert manifest["verified"] is True and manifest["verification"]["streamed"] is True
        assert manifest["verification"]["mismatches"] == [] and manifest["verification"]["scratch_database"] == production_db
        assert manifest["verification"]["checksums_compared"] is True  # the embedded server runs production's version
        assert taken["restored"] == dict(taken["restored"], database=production_db, run_id="verify_streamed", kept=True)
        # The kept copy is production under its own name: same schema (view included), same rows.
        assert database_exists(rehearsal.conn, production_db)
        ours = portable_schema(read_schema(rehearsal.conn, production_db, rehearsal.server), production_db)
        theirs = portable_schema(read_schema(admin, production_db, server), production_db)
        assert fingerprint(ours) == fingerprint(theirs)
        for table in ("customers", "appointments", "migrations"):
            with admin.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM `{production_db}`.`{table}`")
                expected = cur.fetchone()[0]
            with rehearsal.conn.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM `{production_db}`.`{table}`")
                assert cur.fetchone()[0] == expected > 0
    finally:
        drop_restored(rehearsal, production_db)


def test_without_keep_restored_the_copy_is_dropped(deploy_params, server, production_db, rehearsal, tmp_path):
    deploy = connect(deploy_params)
    try:
        taken = backup.take_verified_backup(deploy_params, deploy, server, production_db, str(tmp_path / "b"), "dropped", verify_on=rehearsal)
    finally:
        deploy.close()
    assert taken["manifest"].verified and taken["restored"]["kept"] is False
    assert not database_exists(rehearsal.conn, production_db)


def test_a_failing_dump_stops_the_restore_and_leaves_nothing_anywhere(admin, server, deploy_params, production_db, rehearsal, tmp_path):
    with admin.cursor() as cur:  # a routine of another definer: the deploy account may not read its body
        cur.execute(f"CREATE PROCEDURE `{production_db}`.admin_only() SELECT 1")
    databases, binlog = database_names(admin), binlog_bytes(admin)
    backup_dir = tmp_path / "backups"
    deploy = connect(deploy_params)
    try:
        with pytest.raises(SchemagateError) as failure:
            backup.take_verified_backup(deploy_params, deploy, server, production_db, str(backup_dir), "fails", verify_on=rehearsal, keep_restored=True)
    finally:
        deploy.close()
    assert "admin_only" in failure.value.message and "\n" not in failure.value.message
    assert os.listdir(backup_dir) == []
    assert not database_exists(rehearsal.conn, production_db)  # the half-restored copy went with it
    assert database_names(admin) == databases and binlog_bytes(admin) == binlog


def test_a_restore_failure_leaves_the_backup_unverified_and_the_copy_dropped(server, deploy_params, production_db, rehearsal, tmp_path):
    # The rehearsal server refuses the dump's statements (packets over 1 KiB): the dump still completes into
    # its file, the manifest says why it is unverified, and the half-restored copy is dropped.
    with rehearsal.conn.cursor() as cur:
        cur.execute("SET GLOBAL max_allowed_packet = 1024")  # new sessions: every INSERT batch is refused
    deploy = connect(deploy_params)
    try:
        with pytest.raises(SchemagateError) as failure:
            backup.take_verified_backup(deploy_params, deploy, server, production_db, str(tmp_path / "b"), "refused", verify_on=rehearsal, keep_restored=True)
    finally:
        deploy.close()
        with rehearsal.conn.cursor() as cur:
            cur.execute("SET GLOBAL max_allowed_packet = 16777216")
    assert "\n" not in failure.value.message
    manifest = json.loads((tmp_path / "b" / f"{production_db}-refused.manifest.json").read_text())
    assert manifest["verified"] is False and manifest["verification"]["mismatches"][0].startswith("restore failed")
    assert not database_exists(rehearsal.conn, production_db)


def test_verify_target_on_productions_own_server_is_refused(admin, server, deploy_params):
    deploy, again = connect(deploy_params), connect(deploy_params)
    try:
        with pytest.raises(SchemagateError) as refused:
            backup.verify_server(deploy, deploy_params, again, server)
    finally:
        deploy.close()
        again.close()
    assert "production's own server" in refused.value.message


def test_a_copy_already_on_the_rehearsal_server_is_refused_before_anything_is_dumped(deploy_params, server, production_db, rehearsal, tmp_path):
    with rehearsal.conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{production_db}`")
    deploy = connect(deploy_params)
    try:
        with pytest.raises(SchemagateError) as refused:
            backup.take_verified_backup(deploy_params, deploy, server, production_db, str(tmp_path / "b"), "clash", verify_on=rehearsal)
        assert "already exists on the rehearsal server" in refused.value.message
        assert not (tmp_path / "b").exists() or os.listdir(tmp_path / "b") == []
        with rehearsal.conn.cursor() as cur:  # someone else's database is never dropped
            cur.execute(f"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{production_db}'")
            assert cur.fetchone()[0] == 1
    finally:
        deploy.close()
        drop_restored(rehearsal, production_db)
