"""Reading each format, detecting it, ordering versions, and the partial-rollback rule: no server needed."""
from __future__ import annotations

import os

import pytest

from plugins.module_utils.core.dialect import MARIADB, MYSQL, ServerInfo, foreign_construct, resolve_sql_mode
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.sql_script import Statement, split_statements
from plugins.module_utils.migrate.formats import DBMATE, FLYWAY, GOLANG_MIGRATE, GOOSE, LARAVEL, detect_format, flyway_checksum
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.partial import Judgement, judge

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, "tests", "corpus")


def write(directory, name, text=""):
    path = os.path.join(str(directory), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


@pytest.mark.parametrize("migration_format", [LARAVEL, GOLANG_MIGRATE, GOOSE, DBMATE, FLYWAY])
def test_each_corpus_directory_is_detected_as_its_format(migration_format):
    assert detect_format(os.path.join(CORPUS, migration_format)) == migration_format


def test_the_shipped_phase_b_migrations_stay_laravel_pairs():
    migrations = load_migrations(os.path.join(REPO, "migrations"))
    assert {m.migration_format for m in migrations} == {LARAVEL} and len(migrations) == 6
    assert all(m.reversible for m in migrations)


def test_an_empty_directory_reads_as_no_migrations(tmp_path):
    assert detect_format(str(tmp_path)) == LARAVEL and load_migrations(str(tmp_path)) == []


def test_golang_migrate_versions_are_ordered_as_numbers_and_up_only_is_irreversible(tmp_path):
    for version in (1, 2, 10):
        write(tmp_path, f"{version}_step.up.sql", f"CREATE TABLE t{version} (id INT);")
    write(tmp_path, "1_step.down.sql", "DROP TABLE t1;")
    migrations = load_migrations(str(tmp_path))
    assert [m.version for m in migrations] == ["1", "2", "10"]  # not 1, 10, 2
    assert [m.reversible for m in migrations] == [True, False, False]
    with pytest.raises(SchemagateError, match="no down: only a restore undoes it"):
        migrations[1].statements("down")


def test_duplicate_numeric_versions_are_refused(tmp_path):
    write(tmp_path, "1_a.up.sql", "SELECT 1;")
    write(tmp_path, "001_b.up.sql", "SELECT 1;")
    with pytest.raises(SchemagateError, match="Duplicate migration version"):
        load_migrations(str(tmp_path))


def test_goose_sections_blocks_and_annotations(tmp_path):
    path = write(tmp_path, "00002_add_proc.sql", (
        "-- a header comment\n"
        "-- +goose NO TRANSACTION\n"
        "-- +goose Up\n"
        "ALTER TABLE t ADD COLUMN a INT;\n"
        "-- +goose StatementBegin\n"
        "CREATE PROCEDURE p()\n"
        "BEGIN\n"
        "  SELECT 1;\n"
        "  SELECT 2;\n"
        "END;\n"
        "-- +goose StatementEnd\n"
        "-- +goose Down\n"
        "DROP PROCEDURE IF EXISTS p;\n"
        "ALTER TABLE t DROP COLUMN a;\n"
    ))
    write(tmp_path, "00001_empty.sql", "-- +goose Up\n-- nothing yet\n-- +goose Down\n")
    write(tmp_path, "00003_up_only.sql", "-- +goose Up\nCREATE TABLE u (id INT);\n")
    empty, proc, up_only = load_migrations(str(tmp_path), GOOSE)
    assert empty.up == () and empty.down == () and empty.reversible
    assert [s.line for s in proc.up] == [4, 6]
    assert proc.up[1].sql.startswith("CREATE PROCEDURE p()") and proc.up[1].sql.endswith("END")  # one statement, no ';'
    assert [s.sql for s in proc.down] == ["DROP PROCEDURE IF EXISTS p", "ALTER TABLE t DROP COLUMN a"]
    assert proc.transactional is False and empty.transactional is True
    assert up_only.down is None and not up_only.reversible
    assert path == proc.up_path


@pytest.mark.parametrize("text, message", [
    ("CREATE TABLE x (id INT);\n-- +goose Up\n", "SQL before '-- \\+goose Up'"),
    ("-- +goose Up\n-- +goose StatementBegin\nCREATE PROCEDURE p() BEGIN SELECT 1; END;\n", "has no StatementEnd"),
    ("-- +goose Down\nDROP TABLE x;\n", "no '-- \\+goose Up' annotation"),
    ("-- +goose Up\n-- +goose ENVSUB ON\nSELECT '${X}';\n", "ENVSUB"),
])
def test_malformed_goose_files_name_file_and_line(tmp_path, text, message):
    write(tmp_path, "00001_bad.sql", text)
    with pytest.raises(SchemagateError, match=message) as failure:
        load_migrations(str(tmp_path), GOOSE)
    assert "00001_bad.sql" in failure.value.message


def test_dbmate_sections_and_options(tmp_path):
    write(tmp_path, "20240101000000_a.sql", "-- migrate:up transaction:false\nCREATE TABLE a (id INT);\n\n-- migrate:down\nDROP TABLE a;\n")
    write(tmp_path, "20240102000000_b.sql", "-- migrate:up\nCREATE TABLE b (id INT);\n")
    a, b = load_migrations(str(tmp_path))
    assert a.migration_format == DBMATE and a.version == "20240101000000" and a.transactional is False
    assert [s.line for s in a.up] == [2] and [s.line for s in a.down] == [5]
    assert b.down is None  # no down section: irreversible (dbmate would run an empty down and forget the change)
    write(tmp_path, "20240103000000_c.sql", "CREATE TABLE c (id INT);\n-- migrate:up\n")
    with pytest.raises(SchemagateError, match="20240103000000_c.sql"):
        load_migrations(str(tmp_path), DBMATE)


def test_goose_and_dbmate_files_mixed_are_refused(tmp_path):
    write(tmp_path, "1_a.sql", "-- +goose Up\nSELECT 1;\n")
    write(tmp_path, "2_b.sql", "-- migrate:up\nSELECT 1;\n")
    with pytest.raises(SchemagateError, match="mixes goose .* and dbmate"):
        detect_format(str(tmp_path))


def test_flyway_versions_compare_as_integer_tuples_and_repeatables_run_last(tmp_path):
    for name in ("V1__init.sql", "V1_1__second.sql", "V1.2__third.sql", "V2__fourth.sql", "V10__tenth.sql",
                 "V2.10__late.sql", "R__views.sql", "sub/V3__in_a_subdirectory.sql"):
        write(tmp_path, name, "SELECT 1;\n")
    write(tmp_path, "U2__undo_fourth.sql", "SELECT 2;\n")
    migrations = load_migrations(str(tmp_path))
    assert [m.version for m in migrations] == ["1", "1.1", "1.2", "2", "2.10", "3", "10", ""]
    assert migrations[-1].repeatable and migrations[-1].description == "views"
    fourth = migrations[3]
    assert fourth.reversible and fourth.down_script == "U2__undo_fourth.sql" and fourth.description == "fourth"
    assert migrations[5].script == "sub/V3__in_a_subdirectory.sql"
    assert not migrations[0].reversible


def test_flyway_duplicate_versions_and_orphan_undos_are_refused(tmp_path):
    write(tmp_path, "V1__a.sql", "SELECT 1;")
    write(tmp_path, "V1.0__b.sql", "SELECT 1;")
    with pytest.raises(SchemagateError, match="Duplicate migration version"):
        load_migrations(str(tmp_path))
    os.remove(os.path.join(str(tmp_path), "V1.0__b.sql"))
    write(tmp_path, "U7__nothing.sql", "SELECT 1;")
    with pytest.raises(SchemagateError, match="has no V migration"):
        load_migrations(str(tmp_path))


def test_flyway_checksum_is_crc32_over_lines_without_breaks_signed():
    import zlib

    text = "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n"
    expected = zlib.crc32(b"INSERT INTO a VALUES (1);", zlib.crc32(b"CREATE TABLE a (id INT);"))
    expected = expected - (1 << 32) if expected >= 1 << 31 else expected
    assert flyway_checksum(text.encode()) == expected
    assert flyway_checksum(text.replace("\n", "\r\n").encode()) == expected  # line breaks do not count
    assert flyway_checksum(b"\xef\xbb\xbf" + text.encode()) == expected  # nor a BOM
    assert -(1 << 31) <= flyway_checksum(b"x" * 1000) < (1 << 31)


def test_flyway_checksum_matches_flywayss_own_calculator_on_its_worked_example():
    # Flyway's ChecksumCalculator (compiled from its source, /work/notes/formats.md) gives 194980085 for this file,
    # and for its CRLF, CR-only, BOM and no-final-newline variants; a trailing space changes it to -1665544372.
    text = "CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\n"
    for variant in (text, text.replace("\n", "\r\n"), text.replace("\n", "\r"), "\ufeff" + text, text.rstrip("\n"), text + "\n\n"):
        assert flyway_checksum(variant.encode("utf-8")) == 194980085
    assert flyway_checksum(text.replace(";", "; ", 1).encode()) == -1665544372
    assert flyway_checksum(b"") == 0


def test_flyway_placeholders_are_refused_naming_the_line(tmp_path):
    write(tmp_path, "V1__init.sql", "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (${tenant_id});\n")
    with pytest.raises(SchemagateError, match=r"V1__init.sql: line 2: Flyway placeholder \$\{tenant_id\}"):
        load_migrations(str(tmp_path))


def test_dbmate_versions_are_text_and_files_run_in_name_order(tmp_path):
    write(tmp_path, "9_nine.sql", "-- migrate:up\nSELECT 9;\n-- migrate:down\n")
    write(tmp_path, "10_ten.sql", "-- migrate:up\nSELECT 10;\n-- migrate:down\n")
    write(tmp_path, "05beta.sql", "-- migrate:up\nSELECT 5;\n-- migrate:down\n")
    assert [(m.version, m.name) for m in load_migrations(str(tmp_path), DBMATE)] == [
        ("05", "05beta"), ("10", "10_ten"), ("9", "9_nine"),  # as dbmate sorts: by file name
    ]


def test_an_empty_golang_migrate_file_is_refused_as_golang_migrate_itself_fails_on_it(tmp_path):
    write(tmp_path, "1_a.up.sql", "")
    with pytest.raises(SchemagateError, match="golang-migrate itself fails on it .*1065"):
        load_migrations(str(tmp_path))
    write(tmp_path, "1_a.up.sql", "-- nothing to do yet\n")
    assert load_migrations(str(tmp_path))[0].up == ()


def test_misnamed_files_beside_laravel_pairs_name_the_format(tmp_path):
    write(tmp_path, "2025_01_01_000000_a.up.sql", "SELECT 1;")
    write(tmp_path, "V1__flyway_style.sql", "SELECT 1;")
    with pytest.raises(SchemagateError, match=r"Misnamed migration file .*V1__flyway_style.sql: name migrations YYYY.*set format"):
        load_migrations(str(tmp_path))


def test_a_symlink_out_of_the_directory_is_refused_and_its_target_never_echoed(tmp_path):
    secret = write(tmp_path, "outside/client.cnf", "[client]\npassword=hunter2-very-secret\n")
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    write(migrations, "2025_01_01_000000_a.up.sql", "SELECT 1;")
    os.symlink(secret, str(migrations / "2025_01_01_000001_b.up.sql"))
    with pytest.raises(SchemagateError) as failure:
        load_migrations(str(migrations))
    assert "symlink to a file outside the migrations directory" in failure.value.message
    assert "hunter2" not in failure.value.message and "hunter2" not in str(failure.value.details)
    inside = write(migrations, "shared/2025_01_01_000002_c.up.sql", "SELECT 2;")
    os.remove(str(migrations / "2025_01_01_000001_b.up.sql"))
    os.symlink(inside, str(migrations / "2025_01_01_000001_b.up.sql"))  # a link within the directory is fine
    assert [m.name for m in load_migrations(str(migrations))] == ["2025_01_01_000000_a", "2025_01_01_000001_b"]


# --------------------------------------------------------------------------- statements
def sqls(text):
    return [s.sql for s in split_statements(text)]


def test_compound_statements_without_delimiter_stay_whole():
    text = (
        "CREATE DEFINER=`app`@`%` PROCEDURE p(IN x INT)\nBEGIN\n  DECLARE y INT DEFAULT IF(x > 1, 1, 0);\n"
        "  DROP TEMPORARY TABLE IF EXISTS tmp;\n"
        "  IF x > 0 THEN SET y = CASE WHEN x > 5 THEN 2 ELSE 1 END; ELSEIF x < 0 THEN SET y = 0; END IF;\n"
        "  lbl: LOOP SET y = y + 1; IF y > 10 THEN LEAVE lbl; END IF; END LOOP lbl;\n"
        "  WHILE y < 20 DO SET y = y + 1; END WHILE;\n  REPEAT SET y = y + 1; UNTIL y > 30 END REPEAT;\n"
        "  SELECT REPEAT('a;END', 3), y;\nEND;\n"
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW IF NEW.a > 5 THEN SET NEW.a = 5; END IF;\n"
        "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1;\n"
        "BEGIN NOT ATOMIC DECLARE a INT; SET a = 1; END;\n"
        "SELECT 1;"
    )
    statements = split_statements(text)
    assert [s.line for s in statements] == [1, 11, 12, 13, 14]
    assert statements[0].sql.endswith("y;\nEND") and statements[1].sql.endswith("END IF")


def test_an_unclosed_compound_names_the_line_and_delimiter():
    with pytest.raises(SchemagateError, match=r"f.sql: line 2: compound statement .* has a BEGIN without its END: .*DELIMITER"):
        split_statements("SELECT 1;\nCREATE FUNCTION f() RETURNS INT BEGIN RETURN 1;\n", "f.sql")


def test_prepared_statements_and_conditional_comments():
    text = ("SET @ddl := IF(1, 'ALTER TABLE t ADD c INT; -- not here', 'SELECT 1');\nPREPARE s FROM @ddl;\nEXECUTE s;\n"
            "DEALLOCATE PREPARE s;\n/*!80000 SET @m = 1 */;\n/*M!100500 SET @n = 1; */;\nSELECT /*+ MAX_EXECUTION_TIME(10) */ 1;")
    assert sqls(text) == [
        "SET @ddl := IF(1, 'ALTER TABLE t ADD c INT; -- not here', 'SELECT 1')", "PREPARE s FROM @ddl", "EXECUTE s",
        "DEALLOCATE PREPARE s", "/*!80000 SET @m = 1 */", "/*M!100500 SET @n = 1; */", "SELECT /*+ MAX_EXECUTION_TIME(10) */ 1",
    ]


# --------------------------------------------------------------------------- the partial-rollback rule
EXISTING = {"table customers", "column customers.tier", "index customers.idx_tier", "table audit",
            "foreign key customers.fk_company", "procedure p"}


@pytest.mark.parametrize("sql, action", [
    ("DROP TABLE audit", Judgement.RUN),
    ("DROP TABLE never_made", Judgement.SKIP),
    ("DROP TABLE audit, never_made", Judgement.STOP),
    ("DROP TABLE IF EXISTS never_made", Judgement.RUN),
    ("DROP INDEX idx_tier ON customers", Judgement.RUN),
    ("DROP INDEX idx_none ON customers", Judgement.SKIP),
    ("DROP PROCEDURE p", Judgement.RUN),
    ("DROP TRIGGER t_none", Judgement.SKIP),
    ("ALTER TABLE customers DROP COLUMN tier", Judgement.RUN),
    ("ALTER TABLE customers DROP COLUMN never", Judgement.SKIP),
    ("ALTER TABLE customers DROP FOREIGN KEY fk_company", Judgement.RUN),
    ("ALTER TABLE missing_table DROP COLUMN x", Judgement.SKIP),
    ("ALTER TABLE customers ADD COLUMN tier VARCHAR(5)", Judgement.SKIP),  # the up never dropped it
    ("ALTER TABLE customers ADD COLUMN gone INT NULL", Judgement.RUN),
    ("CREATE TABLE audit (id INT)", Judgement.SKIP),
    ("CREATE TABLE archive (id INT)", Judgement.RUN),
    ("CREATE INDEX idx_tier ON customers (tier)", Judgement.SKIP),
    ("CREATE OR REPLACE VIEW v AS SELECT 1", Judgement.RUN),
    ("SET FOREIGN_KEY_CHECKS = 0", Judgement.RUN),
    ("UPDATE customers SET tier = NULL", Judgement.STOP),
    ("ALTER TABLE customers MODIFY tier VARCHAR(10)", Judgement.STOP),
    ("RENAME TABLE audit TO audit_old", Judgement.STOP),
])
def test_partial_rollback_rule(sql, action):
    assert judge(Statement(sql, 1), EXISTING).action == action


def test_partial_rollback_cuts_an_alter_down_to_the_clauses_that_apply():
    verdict = judge(Statement("ALTER TABLE customers DROP INDEX idx_never, DROP COLUMN tier, DROP INDEX idx_tier", 1), EXISTING)
    assert verdict.action == Judgement.RUN
    assert verdict.sql == "ALTER TABLE `customers` DROP COLUMN tier, DROP INDEX idx_tier"
    assert "index customers.idx_never does not exist" in verdict.reason


# --------------------------------------------------------------------------- MySQL 8 sets on MariaDB
MARIA = ServerInfo(MARIADB, (10, 11, 6), "10.11.6-MariaDB")
MYSQL8 = ServerInfo(MYSQL, (8, 0, 36), "8.0.36")


@pytest.mark.parametrize("sql, what", [
    ("ALTER TABLE t ALTER INDEX idx_a INVISIBLE", "ALTER INDEX ... VISIBLE/INVISIBLE"),
    ("CREATE TABLE t (a INT, INDEX idx_a (a) INVISIBLE)", "an INVISIBLE/VISIBLE index"),
    ("CREATE TABLE t (a INT, b INT, INDEX idx_sum ((a + b)))", "a functional key part"),
    ("CREATE TABLE t (a INT) COLLATE utf8mb4_0900_ai_ci", "utf8mb4_0900"),
    ("CREATE TABLE t (a INT, CHECK (a > 0) NOT ENFORCED)", "ENFORCED"),
])
def test_mysql_only_constructs_are_named_on_mariadb(sql, what):
    line = foreign_construct(sql, MARIA, 1064)
    assert line and what in line and "MySQL 8 syntax that MariaDB 10.11 does not have" in line
    assert foreign_construct(sql, MARIA, 1146) is None  # only a syntax-like error is explained


@pytest.mark.parametrize("sql", ["CREATE OR REPLACE TABLE t (a INT)", "ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT",
                                 "CREATE SEQUENCE s", "CREATE TABLE t (ip INET6 NOT NULL)"])
def test_mariadb_only_constructs_are_named_on_mysql(sql):
    assert "MariaDB syntax that MySQL 8.0 does not have" in foreign_construct(sql, MYSQL8, 1064)


def test_sql_mode_presets():
    assert resolve_sql_mode("mysql8").startswith("ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES")
    assert resolve_sql_mode(" ANSI_QUOTES ") == "ANSI_QUOTES"
