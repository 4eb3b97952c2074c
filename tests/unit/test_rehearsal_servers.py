"""Whether a rehearsal server can stand in for production: flavour blocks, major.minor warns."""
from __future__ import annotations

from plugins.module_utils.core.check_registry import definition
from plugins.module_utils.core.dialect import parse_server
from plugins.module_utils.gate.rehearsal import compare_servers

MARIADB_1011 = parse_server("10.11.19-MariaDB-0+deb12u1-log", "Debian 12")
MARIADB_1106 = parse_server("11.4.2-MariaDB", "mariadb.org binary distribution")
MYSQL_80 = parse_server("8.0.36", "MySQL Community Server - GPL")


def by_code(results):
    return {r.code: r for r in results}


def test_the_same_server_passes_everything():
    checks = by_code(compare_servers("embedded", MARIADB_1011, MARIADB_1011, "private instance"))
    assert set(checks) == {"RH102", "RH103", "RH104"} and all(c.passed for c in checks.values())


def test_another_flavour_blocks_and_another_version_warns():
    flavour = by_code(compare_servers("embedded", MYSQL_80, MARIADB_1011, "private instance"))
    assert not flavour["RH103"].passed and "MySQL 8.0" in flavour["RH103"].message
    assert definition("RH103").severity.value == "block"
    version = by_code(compare_servers("server", MARIADB_1011, MARIADB_1106, "staging server"))
    assert version["RH103"].passed and not version["RH104"].passed
    assert definition("RH104").severity.value == "warn"


def test_production_own_server_is_reported_every_run():
    checks = by_code(compare_servers("production_server", MARIADB_1011, MARIADB_1011, "production's own server"))
    assert not checks["RH105"].passed and "WARNING" in checks["RH105"].message
    assert definition("RH105").severity.value == "warn"
