"""MariaDB and MySQL 8 differences, from the values each server really reports (no server needed).

Only MariaDB runs here, so these pin down what the MySQL 8 paths do with MySQL's own answers: a
schema read from either server must normalise to the same structure and fingerprint.
"""
from __future__ import annotations

import pytest

from plugins.module_utils.core.dialect import (
    MARIADB,
    MYSQL,
    ExplainLine,
    normalize_column_type,
    normalize_default,
    normalize_explain_row,
    normalize_extra,
    normalize_fk_rule,
    parse_server,
)

MARIADB_10_11 = parse_server("10.11.19-MariaDB-0+deb12u1", "Debian 12")
MYSQL_8 = parse_server("8.0.36", "MySQL Community Server - GPL")


@pytest.mark.parametrize(
    "version, comment, flavor, numbers",
    [
        ("10.11.19-MariaDB-0+deb12u1", "Debian 12", MARIADB, (10, 11, 19)),
        ("11.4.2-MariaDB", "mariadb.org binary distribution", MARIADB, (11, 4, 2)),
        ("5.5.5-10.6.16-MariaDB", "", MARIADB, (10, 6, 16)),
        ("8.0.36", "MySQL Community Server - GPL", MYSQL, (8, 0, 36)),
        ("8.4.0-commercial", "MySQL Enterprise Server - Commercial", MYSQL, (8, 4, 0)),
    ],
)
def test_servers_are_classified_from_version_and_comment(version, comment, flavor, numbers):
    server = parse_server(version, comment)
    assert (server.flavor, server.version) == (flavor, numbers)


def test_client_tools_and_dump_options_follow_the_flavour():
    assert MARIADB_10_11.dump_tools == ("mariadb-dump", "mysqldump") and MYSQL_8.dump_tools == ("mysqldump",)
    assert MARIADB_10_11.dump_flavor_options == ()
    assert MYSQL_8.dump_flavor_options == ("--no-tablespaces", "--set-gtid-purged=OFF")
    assert MARIADB_10_11.explain_prefix == "EXPLAIN" and MYSQL_8.explain_prefix == "EXPLAIN FORMAT=TRADITIONAL"
    assert MARIADB_10_11.has_query_cache and not MYSQL_8.has_query_cache


def test_tls_verification_options_mean_the_same_on_both_client_families():
    assert MARIADB_10_11.client_tls_options(has_ca=True, check_hostname=None) == ("ssl-verify-server-cert",)
    assert MYSQL_8.client_tls_options(has_ca=True, check_hostname=None) == ("ssl-mode=VERIFY_IDENTITY",)
    assert MYSQL_8.client_tls_options(has_ca=True, check_hostname=False) == ("ssl-mode=VERIFY_CA",)
    assert MARIADB_10_11.client_tls_options(has_ca=False, check_hostname=True) == ()


# The same column as each server's information_schema.COLUMNS reports it: (COLUMN_TYPE, COLUMN_DEFAULT, EXTRA).
SAME_COLUMN = [
    (("bigint(20) unsigned", None, "auto_increment"), ("bigint unsigned", None, "auto_increment")),
    (("varchar(255)", "'pending'", ""), ("varchar(255)", "pending", "")),
    (("varchar(255)", "NULL", ""), ("varchar(255)", None, "")),
    (("tinyint(1)", "0", ""), ("tinyint(1)", "0", "")),
    (("timestamp", "current_timestamp()", ""), ("timestamp", "CURRENT_TIMESTAMP", "DEFAULT_GENERATED")),
    (
        ("timestamp", "current_timestamp()", "on update current_timestamp()"),
        ("timestamp", "CURRENT_TIMESTAMP", "DEFAULT_GENERATED on update CURRENT_TIMESTAMP"),
    ),
    (("varchar(20)", "'it''s'", ""), ("varchar(20)", "it's", "")),
]


@pytest.mark.parametrize("mariadb_column, mysql_column", SAME_COLUMN)
def test_a_column_normalises_to_the_same_value_on_both_servers(mariadb_column, mysql_column):
    def normalised(column, server):
        column_type, default, extra = column
        return normalize_column_type(column_type), normalize_default(default, extra, server), normalize_extra(extra)

    assert normalised(mariadb_column, MARIADB_10_11) == normalised(mysql_column, MYSQL_8)


def test_a_mysql_literal_that_looks_like_an_expression_stays_a_literal():
    # Without DEFAULT_GENERATED, MySQL's default is a literal even if it reads like a function.
    assert normalize_default("CURRENT_TIMESTAMP", "", MYSQL_8) == "CURRENT_TIMESTAMP"


def test_no_action_is_restrict():
    assert normalize_fk_rule("NO ACTION") == normalize_fk_rule("RESTRICT") == "RESTRICT"
    assert normalize_fk_rule("cascade") == "CASCADE" and normalize_fk_rule("SET NULL") == "SET NULL"


def test_json_is_native_on_mysql_and_a_checked_longtext_on_mariadb():
    assert MYSQL_8.has_native_json and not MARIADB_10_11.has_native_json
    assert MARIADB_10_11.json_check_column("json_valid(`payload`)") == "payload"
    assert MARIADB_10_11.json_check_column("`amount` > 0") is None


def test_explain_rows_read_the_same_from_both_servers():
    mysql_traditional = {"id": 1, "select_type": "SIMPLE", "table": "cr", "partitions": None, "type": "ref",
                         "possible_keys": "idx_status", "key": "idx_status", "key_len": "82", "ref": "const",
                         "rows": 1200, "filtered": 10.0, "Extra": "Using where"}
    mariadb_rowid_filter = {"id": 1, "select_type": "SIMPLE", "table": "cr", "type": "ref|filter",
                            "possible_keys": "idx_status,idx_company", "key": "idx_status|idx_company",
                            "key_len": "82|8", "ref": "const", "rows": "1200 (10%)", "Extra": "Using where; Using rowid filter"}
    expected = ExplainLine(table="cr", access_type="ref", key="idx_status", rows=1200)
    assert normalize_explain_row(mysql_traditional) == expected == normalize_explain_row(mariadb_rowid_filter)
    assert normalize_explain_row({"id": 1, "table": None, "type": None, "key": None, "rows": None}) == ExplainLine(None, None, None, None)


def test_online_ddl_and_check_constraints_by_version():
    assert parse_server("8.0.11").supports_instant_add_column is False
    assert parse_server("8.0.12").supports_instant_add_column is True
    assert parse_server("10.2.0-MariaDB").supports_instant_add_column is False
    assert parse_server("8.0.15").supports_check_constraints is False and parse_server("8.0.16").supports_check_constraints
