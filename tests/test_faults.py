"""Faults a real deploy meets, injected against private server instances the tests start and kill."""
from __future__ import annotations

import datetime
import os
import shutil
import signal
import socket
import threading

import pytest

from helpers import BACKUP_FAULT_VARS, BASE_SCHEMA_SQL, MIGRATIONS_DIR, deploy_in_background, dump_connection, hold_first_table, wait_for

from plugins.module_utils.deploy import deploy_lock
from plugins.module_utils.sandbox import sandbox
from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.runner import APPLIED, PARTIAL, PENDING, MigrationRunner, RunnerSettings
from plugins.module_utils.core.sql_script import split_statements

SLOW = "2025_10_02_000000_add_audit_tables"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def private_server(tmp_path):
    """A server of our own that this test may kill: never the shared sandbox."""
    cfg = sandbox.SandboxConfig(root=str(tmp_path / "server"), port=free_port(), buffer_pool="128M")
    sandbox.start(cfg)
    yield cfg
    sandbox.destroy(cfg)


def kill_server(cfg) -> None:
    """SIGKILL the private server and wait until it is gone.

    Its clients see their sockets close while the kernel is still tearing the process down; a restart in
    that window would find it "running" and do nothing.
    """
    os.kill(sandbox.status(cfg)["pid"], signal.SIGKILL)
    assert wait_for(lambda: not sandbox.status(cfg)["running"]), "the killed server did not exit"


def create_production(cfg) -> str:
    conn = connect(cfg.admin_params())
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE prod CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.execute("USE prod")
        with open(BASE_SCHEMA_SQL, encoding="utf-8") as handle:
            for statement in split_statements(handle.read()):
                cur.execute(statement.sql)
    conn.close()
    return "prod"


def runner(cfg, migrations_dir) -> MigrationRunner:
    return MigrationRunner(connect(cfg.admin_params(), "prod"), RunnerSettings(database="prod"), load_migrations(migrations_dir))


def tables(cfg):
    conn = connect(cfg.admin_params())
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'prod'")
        found = {row[0] for row in cur.fetchall()}
    conn.close()
    return found


def test_server_killed_mid_migration_leaves_a_truthful_status_and_rollback_cleans_up(private_server, tmp_path):
    cfg = private_server
    create_production(cfg)
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations)
    (migrations / f"{SLOW}.up.sql").write_text(
        "CREATE TABLE audit_a (id INT PRIMARY KEY);\nSELECT SLEEP(60);\nCREATE TABLE audit_b (id INT PRIMARY KEY);\n"
    )
    (migrations / f"{SLOW}.down.sql").write_text("DROP TABLE IF EXISTS audit_b;\nDROP TABLE IF EXISTS audit_a;\n")
    outcome = {}

    def deploy():
        try:
            runner(cfg, str(migrations)).migrate()
        except SchemagateError as exc:
            outcome["error"] = exc.message

    thread = threading.Thread(target=deploy)
    thread.start()
    watcher = connect(cfg.admin_params())

    def sleeping():
        with watcher.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(60)'")
            return cur.fetchone()[0] == 1

    assert wait_for(sleeping), "the slow migration never reached its second statement"
    kill_server(cfg)  # the server dies mid-migration
    thread.join(timeout=60)
    assert "error" in outcome and f"Migration {SLOW} (up) failed at statement 2 of 3" in outcome["error"]

    sandbox.start(cfg)  # InnoDB crash recovery
    after = runner(cfg, str(migrations))
    status = {s.migration: s for s in after.status()}
    assert [s.state for name, s in status.items() if name != SLOW] == [APPLIED] * 6
    assert status[SLOW].state == PARTIAL  # no phantom "applied" row
    assert "stopped after 1 of 3 statements" in status[SLOW].detail
    assert "audit_a" in tables(cfg) and "audit_b" not in tables(cfg)

    assert after.rollback(steps=1).names == [SLOW]  # the partial migration's down removes what it left
    assert "audit_a" not in tables(cfg)
    assert {s.migration: s.state for s in after.status()}[SLOW] == PENDING

    (migrations / f"{SLOW}.up.sql").write_text("CREATE TABLE audit_a (id INT PRIMARY KEY);\nCREATE TABLE audit_b (id INT PRIMARY KEY);\n")
    assert runner(cfg, str(migrations)).migrate().names == [SLOW]  # rerunning completes
    assert {"audit_a", "audit_b"} <= tables(cfg)


def test_server_killed_during_the_backup_aborts_the_deploy_before_any_migration(private_server, tmp_path):
    cfg = private_server
    create_production(cfg)
    before = tables(cfg)
    backups = tmp_path / "backups"
    blocker, watcher = connect(cfg.admin_params(), "prod"), connect(cfg.admin_params(), "prod")
    hold_first_table(blocker, "prod")
    thread, outcome = deploy_in_background(
        tmp_path, "prod", backup_dir=str(backups), schemagate_config_file=cfg.admin_cnf, schemagate_login_unix_socket=cfg.socket,
        schemagate_error_log=cfg.error_log, **BACKUP_FAULT_VARS,
    )
    try:
        assert wait_for(lambda: dump_connection(watcher, "prod") is not None, attempts=3000), "the backup's dump never started"
        kill_server(cfg)  # the server dies while the dump reads
    finally:
        thread.join(timeout=300)
    result, flat = outcome["result"], outcome["flat"]
    assert result.returncode != 0
    assert "DEPLOY FAILED on prod: Back up, verify and apply retention" in flat, flat[-3000:]
    assert "nothing was kept (the partial backup file was removed)" in flat
    assert "Apply the pending migrations" not in flat

    sandbox.start(cfg)  # InnoDB crash recovery
    after = runner(cfg, MIGRATIONS_DIR)
    assert {s.state for s in after.status()} == {PENDING}  # nothing was migrated
    assert tables(cfg) - before <= {"schemagate_deploy_lock", "migrations"}
    assert not backups.exists() or list(backups.iterdir()) == []
    holder = deploy_lock.current_holder(connect(cfg.admin_params(), "prod"), "prod")  # the dead run's, its guardian gone
    assert holder is not None and holder["alive"] is False and holder["connection_id"], holder
    assert "Cannot reach the MySQL server" in flat  # the rescue says why it could not check production


def make_certificates(directory):
    """A private CA and a server certificate for 127.0.0.1/localhost, made in Python (no openssl CLI)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    paths = {}

    def write(name, data):
        path = os.path.join(directory, name)
        with open(path, "wb") as handle:
            handle.write(data)
        paths[name] = path

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "schemagate test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    write("ca.pem", ca.public_bytes(serialization.Encoding.PEM))
    write("server-cert.pem", cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    write("server-key.pem", key_pem)
    return paths


def test_tls_connection_options_against_a_server_that_requires_tls(tmp_path):
    certs = make_certificates(str(tmp_path))
    cfg = sandbox.SandboxConfig(
        root=str(tmp_path / "tls"), port=free_port(), buffer_pool="128M",
        extra_args=(f"--ssl-ca={certs['ca.pem']}", f"--ssl-cert={certs['server-cert.pem']}",
                    f"--ssl-key={certs['server-key.pem']}", "--require-secure-transport=ON"),
    )
    sandbox.start(cfg)
    try:
        admin = connect(cfg.admin_params())  # the local socket counts as secure
        with admin.cursor() as cur:
            cur.execute("CREATE USER 'tls_user'@'127.0.0.1' IDENTIFIED BY 'tls-secret-pw'")
            cur.execute("GRANT SELECT ON *.* TO 'tls_user'@'127.0.0.1'")
        # A server certificate from another CA is refused, in one line, without echoing the password.
        os.makedirs(tmp_path / "other")
        other_ca = make_certificates(str(tmp_path / "other"))["ca.pem"]
        forged = ConnectionParams(host="127.0.0.1", port=cfg.port, user="tls_user", password="tls-secret-pw",
                                  ca_cert=other_ca, check_hostname=True, connect_timeout=5)
        with pytest.raises(SchemagateError) as refused:
            connect(forged)
        assert "\n" not in refused.value.message and "tls-secret-pw" not in refused.value.message
        assert refused.value.message.startswith("TLS handshake with tls_user@127.0.0.1") and "CERTIFICATE_VERIFY_FAILED" in refused.value.message
        secure = ConnectionParams(host="127.0.0.1", port=cfg.port, user="tls_user", password="tls-secret-pw",
                                  ca_cert=certs["ca.pem"], check_hostname=True, connect_timeout=5)
        conn = connect(secure)
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            assert cur.fetchone()[1]  # an encrypted session
        conn.close()
    finally:
        sandbox.destroy(cfg)
