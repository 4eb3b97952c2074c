"""Credentials as the MySQL tools take them: any Unicode password, option files the `mariadb` client accepts."""
from __future__ import annotations

import os
import subprocess

import pytest

from plugins.module_utils.backup.dump_tool import client_environment, client_options, find_dump_tool
from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.option_file import read_groups

PASSWORDS = ["pä$$wörd-日本", 'q"uo\'te \\back#hash ;semi \tend ']


@pytest.fixture
def unicode_user(admin, sandbox_cfg):
    """An account per password, created with CREATE USER ... IDENTIFIED BY (dropped afterwards)."""
    users = []
    with admin.cursor() as cur:
        for index, password in enumerate(PASSWORDS):
            user = f"sg_cred_{index}"
            cur.execute(f"DROP USER IF EXISTS '{user}'@'127.0.0.1'")
            cur.execute(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
            cur.execute(f"GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON mysql.* TO '{user}'@'127.0.0.1'")
            users.append((user, password))
    yield users
    with admin.cursor() as cur:
        for user, _password in users:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'127.0.0.1'")


def mariadb(option_file: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mariadb", f"--defaults-file={option_file}", *args], capture_output=True, text=True,
                          env=client_environment(str(tmp_path)), check=False, timeout=60)


def current_user(conn) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        return cur.fetchone()[0]


def test_unicode_passwords_connect_given_directly(unicode_user, sandbox_cfg):
    for user, password in unicode_user:
        conn = connect(ConnectionParams(host="127.0.0.1", port=sandbox_cfg.port, user=user, password=password))
        assert current_user(conn) == f"{user}@127.0.0.1"
        conn.close()
    with pytest.raises(SchemagateError, match="^Access denied"):
        connect(ConnectionParams(host="127.0.0.1", port=sandbox_cfg.port, user=unicode_user[0][0], password="pa$$word-日本"))


def test_a_file_the_mariadb_client_accepts_works_for_us_and_the_dump_tool(unicode_user, sandbox_cfg, server, tmp_path):
    (user0, _p0), (user1, _p1) = unicode_user
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "port.cnf").write_text(f"[client]\nport = {sandbox_cfg.port}\n", encoding="utf-8")
    files = {
        # The manual's forms: quotes, escapes, comments, groups, !includedir; later options override earlier ones.
        user0: f"# deploy account\n[client]\nuser=nobody\n[mysql]\nno-auto-rehash\n[client]\nuser = {user0}   # trailing comment\n"
               "password = pä$$wörd-日本\nhost=127.0.0.1\n"
               f"!includedir {conf_d}\n",
        user1: f"[client-server]\n; a comment\nuser={user1}\n"
               "password=\"q\\\"uo\\'te\\s\\\\back#hash ;semi \\tend \"\nhost = '127.0.0.1'\n"
               f"!includedir {conf_d}\n",
    }
    for user, text in files.items():
        path = tmp_path / f"{user}.cnf"
        path.write_text(text, encoding="utf-8")
        os.chmod(path, 0o600)
        client = mariadb(str(path), tmp_path, "-N", "-e", "SELECT CURRENT_USER()")
        assert client.returncode == 0, client.stderr
        assert client.stdout.strip() == f"{user}@127.0.0.1"
        # The server's own parser and ours agree on every option of the groups we read.
        printed = subprocess.run(["my_print_defaults", f"--defaults-file={path}", "client", "client-server", "client-mariadb"],
                                 capture_output=True, text=True, check=True).stdout.splitlines()
        theirs = dict(line[2:].partition("=")[::2] for line in printed)
        assert read_groups(str(path)) == theirs
        conn = connect(ConnectionParams(config_file=str(path)))
        assert current_user(conn) == f"{user}@127.0.0.1"
        conn.close()
        # The option file the backup writes for the dump tool takes the same account.
        dump_cnf = tmp_path / f"{user}.dump.cnf"
        dump_cnf.write_text("\n".join(client_options(ConnectionParams(config_file=str(path)), server)) + "\n", encoding="utf-8")
        os.chmod(dump_cnf, 0o600)
        dumped = subprocess.run([find_dump_tool(server), f"--defaults-file={dump_cnf}", "--no-data", "mysql", "db"],
                                capture_output=True, text=True, env=client_environment(str(tmp_path)), check=False, timeout=60)
        assert dumped.returncode == 0, dumped.stderr
        assert "CREATE TABLE `db`" in dumped.stdout
