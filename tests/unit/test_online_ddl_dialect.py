"""MySQL 8's answers to the online-DDL questions, fed to the dialect and the prediction (no server).

Texts and codes are MySQL's own (its manual and errmsg-utf8.txt): 1845 ``%s is not supported for this
operation. Try %s.``, 1846 ``%s is not supported. Reason: %s. Try %s.``, 4092 ER_INNODB_MAX_ROW_VERSION,
3024 ER_QUERY_TIMEOUT; MariaDB's are what 10.11 answered on the sandbox (no trailing period).
"""
from __future__ import annotations

from plugins.module_utils.core.dialect import AlterAttempt, parse_server
from plugins.module_utils.core.sql_parse import parse_statement
from plugins.module_utils.gate import ddl_probe
from plugins.module_utils.gate.statement_walk import TableState

MYSQL = parse_server("8.0.36", "MySQL Community Server - GPL")
MYSQL_9 = parse_server("9.1.0", "MySQL Community Server - GPL")
MARIADB = parse_server("10.11.19-MariaDB-0+deb12u1-log")


def test_the_ladder_has_no_nocopy_on_mysql():
    assert [a.label for a in MYSQL.alter_ladder][:3] == ["ALGORITHM=INSTANT", "ALGORITHM=INPLACE, LOCK=NONE",
                                                         "ALGORITHM=INPLACE, LOCK=SHARED"]
    assert [a.label for a in MARIADB.alter_ladder][1] == "ALGORITHM=NOCOPY, LOCK=NONE"


def test_refusals_read_the_same_from_both_servers():
    mysql = MYSQL.alter_refusal(1846, "ALGORITHM=INPLACE is not supported. Reason: Cannot change column type INPLACE. "
                                      "Try ALGORITHM=COPY.")
    assert (mysql.clause, mysql.reason, mysql.suggestion) == ("ALGORITHM=INPLACE", "Cannot change column type INPLACE",
                                                              "ALGORITHM=COPY")
    generic = MYSQL.alter_refusal(1845, "ALGORITHM=INSTANT is not supported for this operation. Try ALGORITHM=COPY/INPLACE.")
    assert (generic.clause, generic.reason, generic.suggestion) == ("ALGORITHM=INSTANT", "", "ALGORITHM=COPY/INPLACE")
    maria = MARIADB.alter_refusal(1846, "LOCK=NONE is not supported. Reason: COPY algorithm requires a lock. Try LOCK=SHARED")
    assert (maria.clause, maria.suggestion) == ("LOCK=NONE", "LOCK=SHARED")
    versions = MYSQL.alter_refusal(4092, "Maximum row versions reached for table test/t1. No more columns can be added or "
                                         "dropped instantly. Please use COPY/INPLACE.")
    assert versions is not None and versions.reason == "maximum row versions reached"
    assert MARIADB.alter_refusal(4092, "anything") is None and MYSQL.alter_refusal(1062, "Duplicate entry") is None


def test_statement_limits_read_only_sessions_and_catalog_freshness():
    assert MARIADB.statement_time_limit(2.5) == ("SET SESSION max_statement_time = %s", (2.5,))
    assert MYSQL.statement_time_limit(2.5) == ("SET SESSION max_execution_time = %s", (2500,))
    assert 3024 in MYSQL.statement_timeout_codes and 1969 in MARIADB.statement_timeout_codes
    assert MYSQL.fresh_table_statistics == "SET SESSION information_schema_stats_expiry = 0"
    assert MARIADB.fresh_table_statistics is None
    assert MYSQL.innodb_tables_view == "information_schema.INNODB_TABLES"
    assert MARIADB.innodb_tables_view == "information_schema.INNODB_SYS_TABLES"
    assert (MYSQL.max_row_versions, MYSQL_9.max_row_versions, MARIADB.max_row_versions) == (64, 255, None)
    assert parse_server("8.0.28", "MySQL").max_row_versions is None
    assert MYSQL.session_alter_variables == ("old_alter_table",) and "alter_algorithm" in MARIADB.session_alter_variables


def decide(server, sql, accepted, variables=None, rebuilt=False, row_versions=0):
    prediction = ddl_probe.Prediction("m", 1, "t", sql)
    table = TableState("t", row_versions=row_versions, production_name="t")
    ddl_probe._decide(prediction, server, parse_statement(sql), table, accepted, rebuilt, False, variables or {}, {})
    return prediction


def test_what_production_will_do_follows_its_settings_and_the_statement_clause():
    instant = AlterAttempt("INSTANT", None)
    assert decide(MYSQL, "ALTER TABLE t ADD COLUMN c INT", instant).kind == "instant"
    used_up = decide(MYSQL, "ALTER TABLE t ADD COLUMN c INT", instant, row_versions=64)
    assert used_up.kind == "in-place rebuild" and "64 of 64 row versions" in used_up.notes[0]
    assert decide(MYSQL_9, "ALTER TABLE t ADD COLUMN c INT", instant, row_versions=64).kind == "instant"
    old = decide(MYSQL, "ALTER TABLE t ADD COLUMN c INT", instant, {"old_alter_table": "ON"})
    assert old.kind == "copy" and old.writes_blocked
    assert decide(MYSQL, "ALTER TABLE t ADD COLUMN c INT, ALGORITHM=INSTANT", instant, {"old_alter_table": "ON"}).kind == "instant"
    never = decide(MARIADB, "ALTER TABLE t DROP COLUMN c", instant, {"innodb_instant_alter_column_allowed": "never"})
    assert never.kind == "in-place rebuild" and not never.writes_blocked
    add_last = decide(MARIADB, "ALTER TABLE t ADD COLUMN c INT", instant, {"innodb_instant_alter_column_allowed": "add_last"})
    assert add_last.kind == "instant"
    assert decide(MARIADB, "ALTER TABLE t ADD COLUMN c INT", instant, {"alter_algorithm": "COPY"}).kind == "copy"
    shared = decide(MARIADB, "ALTER TABLE t ADD INDEX i (a), LOCK=SHARED", AlterAttempt("NOCOPY", "NONE"))
    assert shared.lock == "SHARED" and shared.writes_blocked
    rebuild = decide(MARIADB, "ALTER TABLE t FORCE", AlterAttempt("INPLACE", "NONE"), rebuilt=True)
    assert rebuild.kind == "in-place rebuild" and "linear in data+index bytes" in rebuild.model


def test_the_scaling_models():
    assert ddl_probe.scale("instant", 0.02, 1000, 10 ** 6, 10 ** 9, 10 ** 12) == 0.02
    assert ddl_probe.scale("in-place, no rebuild", 2.0, 1000, 10 ** 6, 100_000, 10 ** 12) == 200.0
    assert ddl_probe.scale("copy", 2.0, 1000, 10 ** 6, 10 ** 9, 5 * 10 ** 6) == 10.0
    assert ddl_probe.scale("in-place rebuild", 1.0, 0, 0, 10, 10) is None
