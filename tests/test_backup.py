"""Verified backups and the emergency restore, against the real sandbox server.

Each test builds its own production-like database (sample data at 2% scale, the six migrations,
a view, a trigger and a routine) and dumps it as the sandbox's deploy account, as a deploy would.
"""
from __future__ import annotations

import dataclasses
import errno
import glob
import gzip
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import uuid

import pytest

from helpers import REPO, create_database, drop_database, drop_with_scratch, dump_connection, hold_first_table, wait_for

from plugins.module_utils.backup import backup, backup_files, dump_restore, dump_tool, restore
from plugins.module_utils.deploy import deploy_lock
from plugins.module_utils.core.catalog import schema_fingerprint
from plugins.module_utils.core.scratch import create_scratch, drop_scratch, scratch_name
from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.sandbox.sample_data import SampleScale, seed_base_data

BIN = os.path.dirname(sys.executable)


@pytest.fixture
def deploy(deploy_params):
    conn = connect(deploy_params)
    yield conn
    conn.close()


@pytest.fixture
def production_db(admin, runner_for, deploy_params):
    """A small production-like database: base data, the six migrations, and objects a dump must carry."""
    name = create_database(admin)
    try:
        with admin.cursor() as cur:
            cur.execute(f"USE `{name}`")
        seed_base_data(admin, SampleScale.scaled(0.02))
        runner_for(name).migrate()
        objects = connect(deploy_params, name)  # created by the deploy account, which may then dump them
        with objects.cursor() as cur:
            cur.execute("CREATE TABLE sg_audit (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(100)) ENGINE=InnoDB")
            cur.execute("INSERT INTO sg_audit (msg) VALUES ('semi;colon'), ('quote''s'), ('back\\\\slash'), (NULL)")
            cur.execute("CREATE VIEW active_customers AS SELECT id, company_id FROM customers WHERE deleted_at IS NULL")
            # Sorts before the view it uses: restoring it needs the dump's stand-in views.
            cur.execute("CREATE VIEW a_company_customer_counts AS SELECT company_id, COUNT(*) AS customers FROM active_customers GROUP BY company_id")
            cur.execute(
                "CREATE TRIGGER customers_audit AFTER UPDATE ON customers FOR EACH ROW "
                "INSERT INTO sg_audit (msg) VALUES (CONCAT('customer ', NEW.id))"
            )
            # INSERT at the start of a line inside a routine: the restore must not take it for data.
            cur.execute("CREATE PROCEDURE sg_note(IN note VARCHAR(100))\nBEGIN\nINSERT INTO sg_audit (msg) VALUES (note);\nSELECT COUNT(*) FROM sg_audit;\nEND")
        objects.close()
        yield name
    finally:
        drop_with_scratch(admin, name)


def _no_schema_like(admin, pattern: str) -> bool:
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (pattern,))
        return cur.fetchone()[0] == 0


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _one_line(exc: SchemagateError) -> str:
    assert "\n" not in exc.message
    return exc.message


class ArgvWatch:
    """Samples every process's argv in a thread while a backup or restore runs."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.hits = []
        self.sweeps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _sweep in range(1_000_000):  # bounded; stops when told
            if self._stop.is_set():
                return
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as handle:
                        argv = handle.read()
                except OSError:
                    continue
                if self.secret in argv:
                    self.hits.append(argv.replace(b"\0", b" ")[:200])
            self.sweeps += 1
            self._stop.wait(0.002)  # pacing only, so the backup gets the CPU

    def __enter__(self) -> "ArgvWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def _files_containing(directory: str, secret: bytes):
    found = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                content = handle.read()
            if name.endswith(".gz"):
                content += gzip.decompress(content)
            if secret in content:
                found.append(path)
    return found


# --------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------

def test_backup_and_verify_round_trip(production_db, deploy_params, deploy, server, admin, tmp_path):
    backup_dir = str(tmp_path / "backups")
    taken = backup.take_backup(deploy_params, deploy, server, production_db, backup_dir, label="first")
    dump_file, manifest_file = taken["backup_file"], taken["manifest_file"]
    assert dump_file == os.path.join(backup_dir, f"{production_db}-first.sql.gz")
    assert manifest_file == os.path.join(backup_dir, f"{production_db}-first.manifest.json")
    assert _mode(backup_dir) == 0o700 and _mode(dump_file) == 0o600 and _mode(manifest_file) == 0o600
    assert sorted(os.listdir(backup_dir)) == sorted(os.path.basename(p) for p in (dump_file, manifest_file))

    with open(manifest_file, encoding="utf-8") as handle:
        manifest = json.load(handle)
    assert manifest["database"] == production_db and manifest["label"] == "first" and manifest["verified"] is False
    assert manifest["server"]["version"] == server.version_string
    assert manifest["dump_tool"]["name"] in server.dump_tools and manifest["dump_tool"]["version"]
    assert manifest["started_utc"] <= manifest["finished_utc"]
    with open(dump_file, "rb") as handle:
        content = handle.read()
    assert manifest["size_bytes"] == len(content) and manifest["sha256"] == hashlib.sha256(content).hexdigest()
    assert gzip.decompress(content).rstrip().splitlines()[-1].startswith(b"-- Dump completed")
    assert [row["migration"] for row in manifest["migrations"]["migrations"]] == sorted(
        name[: -len(".up.sql")] for name in os.listdir(os.path.join(REPO, "migrations")) if name.endswith(".up.sql")
    )
    assert len(manifest["migrations"]["schemagate_migrations"]) >= 6
    with admin.cursor() as cur:
        for table in ("appointments", "customers", "sg_audit", "migrations"):
            cur.execute(f"SELECT COUNT(*) FROM `{production_db}`.`{table}`")
            assert manifest["tables"][table]["rows"] == cur.fetchone()[0]
            cur.execute(f"CHECKSUM TABLE `{production_db}`.`{table}`")
            assert manifest["tables"][table]["checksum"] == cur.fetchone()[1]
    assert manifest["schema"]["fingerprint"] == schema_fingerprint(admin, production_db, server)["fingerprint"]
    assert manifest["consistency"]["writes_paused_ms"] is not None

    verified = backup.verify_backup(deploy_params, deploy, server, manifest_file)
    assert verified["verification"]["mismatches"] == []
    with open(manifest_file, encoding="utf-8") as handle:
        manifest = json.load(handle)
    assert manifest["verified"] is True and manifest["verification"]["checksums_compared"] is True
    assert manifest["verification"]["scratch_database"] == f"{production_db}_sg_verify_first"
    assert manifest["verification"]["statements"]["insert"] > 0
    assert manifest["verification"]["statements"]["deferred_keys"] > 0  # built after the rows, and still identical
    assert _mode(manifest_file) == 0o600
    assert _no_schema_like(admin, f"{production_db}\\_sg\\_%")


def test_manifest_keeps_the_rows_of_a_configured_migrations_table(admin, deploy_params, deploy, server, tmp_path):
    """A team whose migrations table is not called `migrations` still gets its history in the manifest."""
    name = create_database(admin, with_base_tables=False)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE TABLE `{name}`.app_schema_history (id INT PRIMARY KEY, migration VARCHAR(255), batch INT)")
            cur.execute(f"INSERT INTO `{name}`.app_schema_history VALUES (1, '2026_01_01_000000_first', 1)")
            cur.execute(f"CREATE TABLE `{name}`.migrations (id INT PRIMARY KEY, note VARCHAR(20))")  # the application's own
        taken = backup.take_backup(
            deploy_params, deploy, server, name, str(tmp_path), label="custom", migrations_table="app_schema_history"
        )
        recorded = taken["manifest"].to_dict()["migrations"]
        assert recorded["app_schema_history"] == [{"id": 1, "migration": "2026_01_01_000000_first", "batch": 1}]
    finally:
        drop_database(admin, name)


def test_parallel_restore_of_many_small_batches_never_deadlocks(admin, deploy_params, deploy, server, tmp_path):
    """Two workers starting on the same empty table deadlock in InnoDB (table lock with unique_checks off).

    A dump cut into many small INSERT batches across many tables gives them every chance to: the restore
    must load the first batch of each table alone, then the rest in parallel.
    """
    source = create_database(admin, with_base_tables=False)
    target = scratch_name(source, "verify", "batches")
    try:
        with admin.cursor() as cur:
            cur.execute(f"USE `{source}`")  # seq_1_to_N (the sequence engine) lives in the current database
            for number in range(24):
                cur.execute(f"CREATE TABLE `{source}`.`t{number}` (id INT PRIMARY KEY, v VARCHAR(40), KEY (v)) ENGINE=InnoDB")
                cur.execute(f"INSERT INTO `{source}`.`t{number}` SELECT seq, MD5(seq) FROM seq_1_to_3000")
        option_file = dump_tool.write_client_option_file(deploy_params, server, str(tmp_path))
        command = dump_tool.dump_command(dump_tool.find_dump_tool(server), option_file, server, source)
        command.insert(-1, "--net-buffer-length=4096")  # ~40 INSERT statements per table
        dumped = subprocess.run(command, env=dump_tool.client_environment(str(tmp_path)), capture_output=True, check=True).stdout
        dump_path = str(tmp_path / "batches.sql.gz")
        with open(dump_path, "wb") as handle:
            handle.write(gzip.compress(dumped, 1))
        create_scratch(deploy, source, target, "batches")
        restored = dump_restore.restore_dump(deploy_params, dump_path, source, target, workers=4)
        assert restored["statements"]["insert"] > 24 * 20
        with admin.cursor() as cur:
            for number in range(24):
                cur.execute(f"CHECKSUM TABLE `{source}`.`t{number}`, `{target}`.`t{number}`")
                original, copy = cur.fetchall()
                assert copy[1] == original[1] and copy[1] is not None
    finally:
        drop_scratch(deploy, source, target, "batches")
        drop_database(admin, source)


def test_secondary_keys_are_deferred_only_where_it_is_safe():
    create = (
        "CREATE TABLE `t` (\n"
        "  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,\n"
        "  `company_id` bigint(20) unsigned NOT NULL,\n"
        "  `email` varchar(255) NOT NULL,\n"
        "  PRIMARY KEY (`id`),\n"
        "  UNIQUE KEY `t_email_unique` (`email`),\n"
        "  KEY `idx_company` (`company_id`),\n"
        "  FULLTEXT KEY `ft_email` (`email`),\n"
        "  CONSTRAINT `t_company_fk` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE,\n"
        "  CONSTRAINT `chk_email` CHECK (`email` <> '')\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )
    rebuilt, keys, foreign = dump_restore.defer_secondary_keys(create)
    assert keys == ["ADD UNIQUE KEY `t_email_unique` (`email`)", "ADD KEY `idx_company` (`company_id`)"]
    assert foreign == ["ALTER TABLE `t` ADD CONSTRAINT `t_company_fk` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE"]
    assert rebuilt.endswith("  FULLTEXT KEY `ft_email` (`email`),\n  CONSTRAINT `chk_email` CHECK (`email` <> '')\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
    assert "idx_company" not in rebuilt and "FOREIGN KEY" not in rebuilt
    # An AUTO_INCREMENT column that only a secondary key covers needs that key at CREATE time.
    auto_in_key = create.replace("  PRIMARY KEY (`id`),\n", "  PRIMARY KEY (`email`),\n  KEY `by_id` (`id`),\n")
    assert dump_restore.defer_secondary_keys(auto_in_key) == (auto_in_key, [], [])
    # A line the parser does not recognise (a multi-line comment, say) leaves the table as dumped.
    odd = create.replace("  `email` varchar(255) NOT NULL,", "  `email` varchar(255) NOT NULL COMMENT 'two\nlines',")
    assert dump_restore.defer_secondary_keys(odd) == (odd, [], [])


def test_writes_during_the_backup_do_not_break_verification(production_db, deploy_params, deploy, server, sandbox_cfg, admin, tmp_path):
    """The brief write pause aligns the manifest's snapshot with the dump's, so a busy database still verifies."""
    stop = threading.Event()
    writing = threading.Event()

    def keep_writing():
        writer = connect(sandbox_cfg.admin_params(), production_db)
        try:
            with writer.cursor() as cur:
                for number in range(100_000):  # bounded; stops when told
                    if stop.is_set():
                        return
                    cur.execute("UPDATE appointments SET notes = %s WHERE id = %s", (f"edit {number}", number % 50 + 1))
                    writing.set()
        finally:
            writer.close()

    def insert_once():
        late = connect(sandbox_cfg.admin_params(), production_db)
        try:
            with late.cursor() as cur:
                cur.execute("INSERT INTO sg_audit (msg) VALUES ('during the pause')")
        finally:
            late.close()

    # Issued while the pause holds (our snapshot taken, the dump's not yet): it must wait and stay out of the backup.
    late_insert = threading.Thread(target=insert_once, daemon=True)
    background = threading.Thread(target=keep_writing, daemon=True)
    background.start()
    assert writing.wait(timeout=60)
    try:
        taken = backup.take_backup(
            deploy_params, deploy, server, production_db, str(tmp_path), label="busy", on_dump_start=lambda _process: late_insert.start()
        )
    finally:
        stop.set()
        background.join()
        late_insert.join()
    with admin.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{production_db}`.sg_audit")
        assert cur.fetchone()[0] == taken["manifest"].tables["sg_audit"].rows + 1
    assert taken["manifest"].consistency["writes_paused_ms"] > 0
    assert backup.verify_backup(deploy_params, deploy, server, taken["manifest_file"])["verification"]["mismatches"] == []


def test_password_never_on_argv_in_files_or_left_behind(production_db, deploy_params, deploy, server, tmp_path, monkeypatch):
    private_root = tmp_path / "private"
    private_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_root))  # where the option file's directory is made
    secret = deploy_params.password
    seen = {}

    def inspect_dump(process):
        # What Popen exec'd is what the process table shows (a small dump may already have exited here,
        # leaving an empty /proc/<pid>/cmdline); ArgvWatch samples the live table meanwhile.
        argv = [os.fsencode(arg) for arg in process.args]
        seen["argv"] = argv
        option_file = argv[1].decode().split("=", 1)[1]
        seen["option_file"] = _identity(option_file)
        seen["where"] = os.readlink(option_file)
        seen["mode"] = _mode(option_file)
        with open(option_file, encoding="utf-8") as handle:
            seen["holds_password"] = secret in handle.read()

    backup_dir = str(tmp_path / "backups")
    with ArgvWatch(secret) as watch:
        taken = backup.take_backup(deploy_params, deploy, server, production_db, backup_dir, label="argv", on_dump_start=inspect_dump)
        backup.verify_backup(deploy_params, deploy, server, taken["manifest_file"])
    assert watch.sweeps > 0 and watch.hits == []
    assert seen["argv"][1].startswith(b"--defaults-file=") and not any(secret.encode() in arg for arg in seen["argv"])
    # An inherited in-memory file: no name in any directory, 0600, gone once closed.
    assert seen["where"].startswith("/memfd:schemagate-client-cnf") and seen["mode"] == 0o600 and seen["holds_password"]
    assert _gone(seen["option_file"]) and os.listdir(private_root) == []
    assert _files_containing(backup_dir, secret.encode()) == []


def test_password_with_special_characters_reaches_the_dump_tool(production_db, admin, sandbox_cfg, server, tmp_path):
    user = f"sg_bk_{uuid.uuid4().hex[:8]}"
    password = "p#ss \"w'rd\" \\ ;=x"
    with admin.cursor() as cur:
        cur.execute(f"DROP PROCEDURE `{production_db}`.sg_note")  # another account's routine: this user could not read it
        for host in ("localhost", "127.0.0.1"):
            cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s", (password,))
            cur.execute(f"GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `{production_db}`.* TO '{user}'@'{host}'")
    try:
        params = ConnectionParams(user=user, password=password, host="127.0.0.1", port=sandbox_cfg.port)
        conn = connect(params)
        try:
            taken = backup.take_backup(params, conn, server, production_db, str(tmp_path), label="special")
        finally:
            conn.close()
        assert taken["manifest"].tables["customers"].rows > 0
    finally:
        with admin.cursor() as cur:
            for host in ("localhost", "127.0.0.1"):
                cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")


# --------------------------------------------------------------------------
# Failures leave nothing behind
# --------------------------------------------------------------------------

def _identity(option_file: str):
    """(device, inode) of the dump's option file (``/dev/fd/N``: an in-memory file open in this process)."""
    assert option_file.startswith("/dev/fd/")
    info = os.stat(option_file)
    return info.st_dev, info.st_ino


def _gone(identity) -> bool:
    """No descriptor of this process still holds the option file, so it no longer exists anywhere."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            info = os.stat(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == identity:
            return False
    return True


def _capture_option_file(seen):
    def hook(process):
        seen["process"] = process
        seen["option_file"] = _identity(process.args[1].split("=", 1)[1])  # open in this process while the dump runs
    return hook


def test_failing_dump_aborts_with_one_line_and_leaves_nothing(production_db, admin, deploy_params, deploy, server, tmp_path):
    with admin.cursor() as cur:  # a routine of another definer: the deploy account may not read its body
        cur.execute(f"CREATE PROCEDURE `{production_db}`.admin_only() SELECT 1")
    backup_dir = str(tmp_path / "backups")
    seen = {}
    with pytest.raises(SchemagateError) as failure:
        backup.take_backup(deploy_params, deploy, server, production_db, backup_dir, label="fails", on_dump_start=_capture_option_file(seen))
    message = _one_line(failure.value)
    assert "mariadb-dump failed (exit 2)" in message or "mysqldump failed" in message
    assert "admin_only" in message and "partial backup file was removed" in message
    assert os.listdir(backup_dir) == []
    assert _gone(seen["option_file"])


def test_killed_dump_aborts_and_leaves_nothing(production_db, deploy_params, deploy, server, tmp_path):
    seen = {}

    def kill(process):
        _capture_option_file(seen)(process)
        process.kill()

    backup_dir = str(tmp_path / "backups")
    with pytest.raises(SchemagateError) as failure:
        backup.take_backup(deploy_params, deploy, server, production_db, backup_dir, label="killed", on_dump_start=kill)
    assert "was killed by SIGKILL" in _one_line(failure.value)
    assert os.listdir(backup_dir) == [] and _gone(seen["option_file"])


def test_disk_full_while_writing_aborts_and_leaves_nothing(production_db, deploy_params, deploy, server, tmp_path, monkeypatch):
    def full(self, data):
        raise backup._WriteError(os.strerror(errno.ENOSPC))  # pylint: disable=protected-access

    monkeypatch.setattr(backup._HashingWriter, "write", full)  # pylint: disable=protected-access
    seen = {}
    backup_dir = str(tmp_path / "backups")
    with pytest.raises(SchemagateError) as failure:
        backup.take_backup(deploy_params, deploy, server, production_db, backup_dir, label="full", on_dump_start=_capture_option_file(seen))
    message = _one_line(failure.value)
    assert "No space left on device" in message and "partial file was removed" in message
    assert os.listdir(backup_dir) == [] and _gone(seen["option_file"])
    assert seen["process"].poll() is not None  # the dump was stopped, not left writing into a pipe


def test_unusable_backup_dir_refused_before_dumping(production_db, deploy_params, deploy, server, tmp_path):
    started = []
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(SchemagateError) as failure:
        backup.take_backup(deploy_params, deploy, server, production_db, str(blocker / "backups"), label="x", on_dump_start=started.append)
    assert "Cannot create backup directory" in _one_line(failure.value)
    # /proc exists and is a directory, but nobody (not even root) can create files there.
    with pytest.raises(SchemagateError) as failure:
        backup.take_backup(deploy_params, deploy, server, production_db, "/proc", label="x", min_free_ratio=0, on_dump_start=started.append)
    assert "Backup directory /proc is not writable" in _one_line(failure.value)
    assert started == []


def test_too_high_min_free_ratio_refused_before_anything_is_written(production_db, deploy_params, deploy, server, tmp_path):
    started = []
    backup_dir = tmp_path / "backups"
    with pytest.raises(SchemagateError) as failure:
        backup.take_backup(deploy_params, deploy, server, production_db, str(backup_dir), label="x", min_free_ratio=1e12, on_dump_start=started.append)
    message = _one_line(failure.value)
    assert "Not enough free space for the backup" in message and "lower min_free_ratio" in message
    assert started == [] and not backup_dir.exists()


# --------------------------------------------------------------------------
# Verification catches a bad backup
# --------------------------------------------------------------------------

def test_corrupted_backup_fails_verification_on_sha256(production_db, deploy_params, deploy, server, admin, tmp_path):
    taken = backup.take_backup(deploy_params, deploy, server, production_db, str(tmp_path), label="corrupt")
    with open(taken["backup_file"], "r+b") as handle:
        handle.seek(os.path.getsize(taken["backup_file"]) // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(SchemagateError) as failure:
        backup.verify_backup(deploy_params, deploy, server, taken["manifest_file"])
    assert "sha256 mismatch" in _one_line(failure.value) and taken["backup_file"] in failure.value.message
    manifest = backup_files.load_manifest(taken["manifest_file"])
    assert manifest.verified is False and "sha256 mismatch" in manifest.verification["mismatches"][0]
    assert _no_schema_like(admin, f"{production_db}\\_sg\\_%")  # refused before restoring anything


def test_manifest_that_does_not_match_the_data_fails_verification(production_db, deploy_params, deploy, server, admin, tmp_path):
    taken = backup.take_backup(deploy_params, deploy, server, production_db, str(tmp_path), label="counts")
    manifest = backup_files.load_manifest(taken["manifest_file"])
    real = manifest.tables["customers"].rows
    audit = manifest.tables["sg_audit"]
    manifest = dataclasses.replace(manifest, tables={
        **manifest.tables,
        "customers": dataclasses.replace(manifest.tables["customers"], rows=real + 1),
        "sg_audit": dataclasses.replace(audit, checksum=audit.checksum + 1),
    })
    backup_files.write_manifest(taken["manifest_file"], manifest)
    with pytest.raises(SchemagateError) as failure:
        backup.verify_backup(deploy_params, deploy, server, taken["manifest_file"])
    assert "failed verification: 2 difference(s)" in _one_line(failure.value)
    assert failure.value.details["mismatches"] == [
        f"table customers: {real} rows restored, the manifest says {real + 1}",
        f"table sg_audit: row checksum {manifest.tables['sg_audit'].checksum - 1} restored, "
        f"the manifest says {manifest.tables['sg_audit'].checksum}",
    ]
    assert backup_files.load_manifest(taken["manifest_file"]).verified is False
    assert _no_schema_like(admin, f"{production_db}\\_sg\\_%")


# --------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------

def _fake_backup(directory, database, label, verified, finished):
    manifest = {
        "format": 1, "database": database, "label": label, "file": f"{database}-{label}.sql.gz", "sha256": "0" * 64,
        "tables": {}, "schema": {}, "verified": verified, "finished_utc": finished,
    }
    (directory / f"{database}-{label}.sql.gz").write_bytes(b"dump")
    (directory / f"{database}-{label}.manifest.json").write_text(json.dumps(manifest))
    return str(directory / f"{database}-{label}.manifest.json")


def test_retention_keeps_the_newest_verified_and_never_deletes_unverified(tmp_path):
    db = "askproai_db"
    old = _fake_backup(tmp_path, db, "b1", True, "2026-11-20T10:00:00+00:00")
    kept_older = _fake_backup(tmp_path, db, "b2", True, "2026-11-21T10:00:00+00:00")
    newest = _fake_backup(tmp_path, db, "b3", True, "2026-11-22T10:00:00+00:00")
    unverified_new = _fake_backup(tmp_path, db, "b4", False, "2026-11-23T10:00:00+00:00")
    unverified_old = _fake_backup(tmp_path, db, "b0", False, "2026-11-19T10:00:00+00:00")
    other_db = _fake_backup(tmp_path, "askproai_db_other", "b1", True, "2026-11-01T10:00:00+00:00")
    (tmp_path / f"{db}-notes.txt").write_text("not a backup")

    result = backup_files.prune_backups(str(tmp_path), db, keep=2)
    assert result == {"kept": [newest, kept_older], "deleted": [old], "unverified": [unverified_new, unverified_old]}
    assert not os.path.exists(old) and not (tmp_path / f"{db}-b1.sql.gz").exists()
    for path in (kept_older, newest, unverified_new, unverified_old, other_db):
        assert os.path.exists(path)
    assert (tmp_path / f"{db}-notes.txt").exists()
    assert backup_files.latest_verified_manifest(str(tmp_path), db) == newest

    assert backup_files.prune_backups(str(tmp_path), db, keep=1, protect=[kept_older])["deleted"] == []
    with pytest.raises(SchemagateError, match="keep must be at least 1"):
        backup_files.prune_backups(str(tmp_path), db, keep=0)


def test_retention_with_real_backups(production_db, deploy_params, deploy, server, tmp_path):
    manifests = []
    for label in ("r1", "r2", "r3"):
        taken = backup.take_backup(deploy_params, deploy, server, production_db, str(tmp_path), label=label)
        backup.verify_backup(deploy_params, deploy, server, taken["manifest_file"])
        manifests.append(taken["manifest_file"])
    result = backup_files.prune_backups(str(tmp_path), production_db, keep=2, protect=[manifests[-1]])
    assert result["deleted"] == [manifests[0]] and result["kept"] == [manifests[2], manifests[1]]
    assert sorted(os.listdir(tmp_path)) == sorted(
        f"{production_db}-{label}{suffix}" for label in ("r2", "r3") for suffix in (".sql.gz", ".manifest.json")
    )


# --------------------------------------------------------------------------
# Emergency restore
# --------------------------------------------------------------------------

def test_restore_refuses_unverified_or_foreign_backups(production_db, deploy_params, deploy, server, admin, tmp_path):
    taken = backup.take_backup(deploy_params, deploy, server, production_db, str(tmp_path), label="unverified")
    with pytest.raises(SchemagateError) as failure:
        restore.restore_backup(deploy_params, deploy, server, taken["manifest_file"], production_db, "r1")
    assert "is not verified" in _one_line(failure.value)
    backup.verify_backup(deploy_params, deploy, server, taken["manifest_file"])
    other = f"{production_db}x"
    with pytest.raises(SchemagateError) as failure:
        restore.restore_backup(deploy_params, deploy, server, taken["manifest_file"], other, "r1")
    assert f"is a backup of {production_db!r}, not of {other!r}" in _one_line(failure.value)
    assert _no_schema_like(admin, f"{production_db}\\_sg\\_%")


def test_a_hand_edited_manifest_is_refused_by_what_its_dump_says(production_db, deploy_params, deploy, server, admin, tmp_path):
    """Issue 15 item 2: tenant A's manifest edited to say tenant B must never restore A's rows into B."""
    tenant_b = create_database(admin)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE TABLE `{tenant_b}`.tenant_b_only (id INT PRIMARY KEY) ENGINE=InnoDB")
            cur.execute(f"INSERT INTO `{tenant_b}`.tenant_b_only VALUES (1), (2)")
        before_b = schema_fingerprint(admin, tenant_b, server)["fingerprint"]
        rows_b = backup.table_figures(admin, tenant_b, backup.base_tables(admin, tenant_b))
        taken = backup.take_backup(deploy_params, deploy, server, production_db, str(tmp_path), label="tenant_a")
        backup.verify_backup(deploy_params, deploy, server, taken["manifest_file"])
        with open(taken["manifest_file"], encoding="utf-8") as handle:
            data = json.load(handle)
        for key, value, refusal in (
            ("database", tenant_b, f"says database {tenant_b!r}, but its dump {os.path.basename(taken['backup_file'])} "
                                   f"is a dump of {production_db!r} (its header)"),
            ("server", {**data["server"], "version": "10.11.0-MariaDB"}, "says server '10.11.0-MariaDB', but its dump"),
        ):
            edited = {**data, key: value}
            with open(taken["manifest_file"], "w", encoding="utf-8") as handle:
                json.dump(edited, handle)
            target = edited["database"]
            with pytest.raises(SchemagateError) as failure:
                restore.restore_backup(deploy_params, deploy, server, taken["manifest_file"], target, f"forged_{key}")
            assert refusal in _one_line(failure.value)
        with pytest.raises(SchemagateError) as failure:  # nor does verifying it bless it
            backup.verify_backup(deploy_params, deploy, server, taken["manifest_file"])
        assert "the manifest does not describe this dump" in _one_line(failure.value)
        assert schema_fingerprint(admin, tenant_b, server)["fingerprint"] == before_b
        assert backup.table_figures(admin, tenant_b, backup.base_tables(admin, tenant_b)) == rows_b
        assert _no_schema_like(admin, f"{tenant_b}\\_sg\\_%") and _no_schema_like(admin, f"{production_db}\\_sg\\_%")
    finally:
        drop_with_scratch(admin, tenant_b)


def test_restore_brings_back_the_backup_and_keeps_the_replaced_tables(production_db, deploy_params, deploy, server, admin, tmp_path):
    deploy_lock.acquire(deploy, production_db, "deploy_a", "tests", ttl_seconds=600, wait_seconds=0)  # the deploy that backs up
    taken = backup.take_backup(deploy_params, deploy, server, production_db, str(tmp_path), label="before")
    backup.verify_backup(deploy_params, deploy, server, taken["manifest_file"])
    manifest = backup_files.load_manifest(taken["manifest_file"])
    assert manifest.tables[deploy_lock.LOCK_TABLE].rows == 1
    deploy_lock.release(deploy, production_db, "deploy_a")
    deploy_lock.acquire(deploy, production_db, "rollback_b", "tests", ttl_seconds=600, wait_seconds=0)  # the one that restores
    with admin.cursor() as cur:  # what a bad deploy might do
        cur.execute(f"USE `{production_db}`")
        cur.execute("DROP TABLE callback_escalations")
        cur.execute("DELETE FROM appointments WHERE id % 10 = 0")
        cur.execute("CREATE TABLE only_in_prod (id INT PRIMARY KEY) ENGINE=InnoDB")
        cur.execute("INSERT INTO only_in_prod VALUES (1), (2)")
        cur.execute("DROP VIEW active_customers")
        cur.execute("CREATE VIEW deploy_view AS SELECT id FROM companies")
        cur.execute("SELECT COUNT(*) FROM appointments")
        damaged_appointments = cur.fetchone()[0]
    assert schema_fingerprint(admin, production_db, server)["fingerprint"] != manifest.schema.fingerprint

    with ArgvWatch(deploy_params.password) as watch:
        result = restore.restore_backup(deploy_params, deploy, server, taken["manifest_file"], production_db, "t1")
    assert watch.sweeps > 0 and watch.hits == []

    old = f"{production_db}_sg_old_t1"
    assert result["old_database"] == old and result["differences_after_restore"] == []
    assert schema_fingerprint(admin, production_db, server)["fingerprint"] == manifest.schema.fingerprint
    tables = backup.base_tables(admin, production_db, exclude=(deploy_lock.LOCK_TABLE,))
    assert backup.table_figures(admin, production_db, tables) == {name: manifest.tables[name] for name in tables}
    assert set(tables) == set(manifest.tables) - {deploy_lock.LOCK_TABLE}
    assert deploy_lock.current_holder(admin, production_db)["run_id"] == "rollback_b"  # the lock was not swapped back
    assert "callback_escalations" in tables and "only_in_prod" not in tables
    assert result["only_in_production"] == ["only_in_prod"]
    for recreated in ("view active_customers", "view a_company_customer_counts", "trigger customers_audit", "routine sg_note"):
        assert recreated in result["recreated_objects"]
    assert list(result["removed_objects"]) == ["view deploy_view"]
    with admin.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{old}`.appointments")
        assert cur.fetchone()[0] == damaged_appointments
        cur.execute(f"SELECT id FROM `{old}`.only_in_prod ORDER BY id")
        assert cur.fetchall() == ((1,), (2,))
        cur.execute("SELECT TRIGGER_SCHEMA, TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (%s, %s) ORDER BY 1", (production_db, old))
        assert cur.fetchall() == ((production_db, "customers_audit"), (old, "customers_audit"))
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA IN (%s, %s) "
            "AND REFERENCED_TABLE_SCHEMA IS NOT NULL AND REFERENCED_TABLE_SCHEMA <> TABLE_SCHEMA", (production_db, old),
        )
        assert cur.fetchone()[0] == 0  # every foreign key stays within its own database
        cur.execute(f"CALL `{production_db}`.sg_note('after restore')")
        cur.fetchall()
        while cur.nextset():
            pass
    assert _no_schema_like(admin, f"{production_db}\\_sg\\_restore\\_%")


# --------------------------------------------------------------------------
# Through Ansible
# --------------------------------------------------------------------------

def test_backup_role_through_ansible_never_prints_the_password(production_db, deploy_params, tmp_path):
    playbook = tmp_path / "backup.yml"
    playbook.write_text(
        "- hosts: sandbox\n"
        "  gather_facts: false\n"
        "  module_defaults:\n"
        "    schemagate.mysql.backup: {login_host: '{{ h }}', login_port: '{{ p }}', login_user: '{{ u }}', login_password: '{{ pw }}'}\n"
        "  roles:\n"
        "    - role: schemagate.mysql.backup\n"
    )
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({
        "schemagate_database": production_db, "backup_dir": str(tmp_path / "backups"), "backup_label": "ansible",
        "h": deploy_params.host, "p": deploy_params.port, "u": deploy_params.user, "pw": deploy_params.password,
    }))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1", PATH=f"{BIN}:{os.environ['PATH']}")

    def play(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [os.path.join(BIN, "ansible-playbook"), str(playbook), "-e", f"@{extra}", *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
        )

    checked = play("--check")
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert "would write" in checked.stdout and not (tmp_path / "backups").exists()
    done = play("-vvv")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "matched its manifest" in done.stdout
    assert deploy_params.password not in done.stdout + done.stderr
    assert backup_files.load_manifest(str(tmp_path / "backups" / f"{production_db}-ansible.manifest.json")).verified is True


def _session_processes(sid: int):
    """The pids still alive in session ``sid`` (the ansible-playbook this test started, and its children)."""
    alive = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getsid(int(pid)) == sid:
                alive.append(int(pid))
        except OSError:
            continue
    return alive


def test_sigterm_of_ansible_during_the_backup_leaves_no_credential_on_disk(production_db, deploy_params, admin, tmp_path):
    """Issue 15 item 5: the dump's option file is an inherited memfd, and pipelining keeps module args off disk."""
    scan = tmp_path / "scan"  # TMPDIR, Ansible's local and remote temp dirs of this run: everywhere it could write
    for sub in ("tmp", "ansible-local", "ansible-remote"):
        (scan / sub).mkdir(parents=True)
    playbook = tmp_path / "backup.yml"
    playbook.write_text(
        "- hosts: sandbox\n"
        "  gather_facts: false\n"
        "  module_defaults:\n"
        "    schemagate.mysql.backup: {login_host: '{{ h }}', login_port: '{{ p }}', login_user: '{{ u }}', login_password: '{{ pw }}'}\n"
        "  roles:\n"
        "    - role: schemagate.mysql.backup\n"
    )
    extra = tmp_path / "vars.json"  # the test's own 0600 input, the one file allowed to hold the password
    extra.write_text(json.dumps({
        "schemagate_database": production_db, "backup_dir": str(tmp_path / "backups"), "backup_label": "sigterm",
        "backup_snapshot_lock_timeout": 0,
        "h": deploy_params.host, "p": deploy_params.port, "u": deploy_params.user, "pw": deploy_params.password,
    }))
    os.chmod(extra, 0o600)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1", PATH=f"{BIN}:{os.environ['PATH']}",
               TMPDIR=str(scan / "tmp"), ANSIBLE_LOCAL_TEMP=str(scan / "ansible-local"), ANSIBLE_REMOTE_TMP=str(scan / "ansible-remote"))
    holder = connect(ConnectionParams(**{**dataclasses.asdict(deploy_params)}))
    watcher = connect(deploy_params)
    secret = deploy_params.password.encode()
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [os.path.join(BIN, "ansible-playbook"), str(playbook), "-e", f"@{extra}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        hold_first_table(holder, production_db)  # the dump waits on it, in flight
        assert wait_for(lambda: dump_connection(watcher, production_db) is not None), "the dump never started"
        in_flight = _files_containing(str(scan), secret)
        # The first SIGTERM is a stop request (plugins/callback/interrupts.py): the backup, which writes nothing to
        # production, goes on. The second is Ansible's own immediate stop, the harshest case for leftovers.
        process.send_signal(signal.SIGTERM)
        assert wait_for(lambda: glob.glob(str(scan / "tmp" / "schemagate-stop-*" / "stop"))), "no stop request written"
        in_flight += _files_containing(str(scan), secret)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=120)[0].decode(errors="replace")
        assert process.returncode != 0
        assert secret.decode() not in output
        left_while_module_lives = _files_containing(str(scan), secret)
        with holder.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        assert wait_for(lambda: not _session_processes(process.pid)), "the module outlived the playbook"
        assert in_flight == [] and left_while_module_lives == [], (in_flight, left_while_module_lives)
        assert _files_containing(str(scan), secret) == []
        assert _files_containing(str(tmp_path / "backups"), secret) == [] if (tmp_path / "backups").exists() else True
    finally:
        for pid in _session_processes(process.pid):
            os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.wait()
        holder.close()
        watcher.close()
