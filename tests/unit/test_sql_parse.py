"""The migration-statement parser: every shape the lint and the online-DDL prediction rely on (no server)."""
from __future__ import annotations

import pytest

from plugins.module_utils.core.sql_parse import (
    ADD_CHECK, ADD_COLUMN, ADD_FOREIGN_KEY, ADD_INDEX, ALGORITHM, ALTER_COLUMN_DEFAULT, ALTER_TABLE, CHANGE_COLUMN,
    CONVERT_CHARSET, CREATE_INDEX, CREATE_TABLE, DELETE, DROP_COLUMN, DROP_CONSTRAINT, DROP_FOREIGN_KEY, DROP_INDEX,
    DROP_INDEX_STATEMENT, DROP_PRIMARY_KEY, DROP_TABLE, FORCE, INSERT, LOCK, MODIFY_COLUMN, NOT_UNDERSTOOD, OTHER_DDL,
    PARTITION_MANAGEMENT, PARTITIONING, RENAME_COLUMN, RENAME_INDEX, RENAME_TABLE, RENAME_TABLES, TABLE_OPTIONS, TRUNCATE,
    UNKNOWN, UPDATE, CannotRewrite, alter_clauses, parse_column_type, parse_statement, tokenize, with_algorithm,
)


def actions(sql):
    return [s.action for s in parse_statement(sql).specs]


def test_an_alter_with_many_specifications_is_split_into_each():
    parsed = parse_statement(
        "ALTER TABLE `appointments` ADD COLUMN note VARCHAR(20) NOT NULL DEFAULT '', MODIFY status ENUM('a','b') NULL, "
        "CHANGE old_c new_c INT UNSIGNED NULL AFTER id, RENAME COLUMN a TO b, DROP COLUMN x, DROP INDEX idx, "
        "DROP PRIMARY KEY, DROP FOREIGN KEY fk1, DROP CONSTRAINT chk, ADD UNIQUE KEY u (a, b(10)), "
        "ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES companies (id) ON DELETE SET NULL, ADD CHECK (a > 0), "
        "RENAME INDEX i1 TO i2, ALTER COLUMN d SET DEFAULT 5, CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, "
        "ENGINE=InnoDB ROW_FORMAT=DYNAMIC, FORCE, ALGORITHM=INPLACE, LOCK=NONE")
    assert parsed.kind == ALTER_TABLE and parsed.table.name == "appointments" and parsed.understood
    assert parsed.spec_actions() == [
        ADD_COLUMN, MODIFY_COLUMN, CHANGE_COLUMN, RENAME_COLUMN, DROP_COLUMN, DROP_INDEX, DROP_PRIMARY_KEY, DROP_FOREIGN_KEY,
        DROP_CONSTRAINT, ADD_INDEX, ADD_FOREIGN_KEY, ADD_CHECK, RENAME_INDEX, ALTER_COLUMN_DEFAULT, CONVERT_CHARSET,
        TABLE_OPTIONS, FORCE, ALGORITHM, LOCK]
    add, modify, change = parsed.specs[:3]
    assert (add.column.name, add.column.type.render(), add.column.nullable, add.column.default) == ("note", "varchar(20)", False, "''")
    assert modify.column.type.args == ("a", "b") and modify.column.nullable is True
    assert (change.old_name, change.new_name, change.column.type.render(), change.column.position) == (
        "old_c", "new_c", "int unsigned", "AFTER id")
    unique = parsed.specs[9].index
    assert unique.kind == "unique" and unique.name == "u" and [(c.name, c.length) for c in unique.columns] == [("a", None), ("b", 10)]
    fk = parsed.specs[10].foreign_key
    assert (fk.name, fk.columns, fk.ref_table.name, fk.ref_columns, fk.on_delete) == ("fk", ["c"], "companies", ["id"], "SET NULL")
    assert parsed.specs[11].check.expression == "a > 0"
    assert parsed.specs[15].options == {"ENGINE": "INNODB", "ROW_FORMAT": "DYNAMIC"}
    assert parsed.explicit_clause("algorithm") == "INPLACE" and parsed.explicit_clause("lock") == "NONE"


def test_quotes_comments_and_executable_comments_do_not_confuse_it():
    parsed = parse_statement("ALTER TABLE t ADD COLUMN `we;ird, name` INT COMMENT 'ALGORITHM=COPY, DROP x' -- a comment, DROP y\n"
                             ", /* DROP COLUMN z, */ DROP COLUMN w /*!, LOCK=NONE */")
    assert actions(parsed.sql) == [ADD_COLUMN, DROP_COLUMN, LOCK]
    assert parsed.specs[0].column.name == "we;ird, name" and parsed.specs[1].old_name == "w"
    assert [t.value for t in tokenize("SELECT 'it''s', \"a\\\"b\", `x``y`")][1:6:2] == ["it's", 'a"b', "x`y"]


def test_enum_values_charsets_and_two_word_types():
    column = parse_statement("ALTER TABLE t MODIFY s SET('a,b', 'it''s') CHARACTER SET latin1 COLLATE latin1_bin NOT NULL").specs[0].column
    assert column.type.name == "set" and column.type.args == ("a,b", "it's")
    assert (column.type.charset, column.type.collation, column.nullable) == ("latin1", "latin1_bin", False)
    assert parse_column_type("double precision").name == "double"
    assert parse_column_type("int(10) unsigned zerofill").render() == "int(10) unsigned"
    assert parse_column_type("BOOLEAN").render() == "tinyint(1)"
    assert parse_column_type("decimal(12,2)").args == ("12", "2")


def test_create_table_with_columns_keys_foreign_keys_and_checks():
    parsed = parse_statement(
        "CREATE TABLE IF NOT EXISTS db.t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(80) UNIQUE, "
        "kind ENUM('x','y') DEFAULT 'x', total DECIMAL(10,2) AS (id * 2) STORED, KEY k (kind), "
        "CONSTRAINT f FOREIGN KEY (kind) REFERENCES p (id), CONSTRAINT c CHECK (id > 0)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
    assert parsed.kind == CREATE_TABLE and parsed.if_exists and (parsed.table.schema, parsed.table.name) == ("db", "t")
    assert [c.name for c in parsed.columns] == ["id", "email", "kind", "total"]
    assert parsed.columns[0].auto_increment and parsed.columns[0].nullable is False and parsed.columns[3].generated == "stored"
    assert [(i.kind, i.name) for i in parsed.indexes] == [("primary", "PRIMARY"), ("unique", "email"), ("index", "k")]
    assert parsed.foreign_keys[0].ref_table.name == "p" and parsed.checks[0].name == "c"
    assert parse_statement("CREATE TABLE t2 LIKE t").like.name == "t"
    assert parse_statement("CREATE TABLE t3 AS SELECT * FROM t").as_select


def test_other_statement_kinds():
    assert parse_statement("DROP TABLE IF EXISTS a, `b`").tables[1].name == "b"
    assert parse_statement("DROP TABLE a").kind == DROP_TABLE
    assert parse_statement("RENAME TABLE a TO b, c TO d").kind == RENAME_TABLES
    assert len(parse_statement("RENAME TABLE a TO b, c TO d").renames) == 2
    assert parse_statement("TRUNCATE t").kind == TRUNCATE
    assert not parse_statement("DELETE FROM t").has_where and parse_statement("DELETE FROM t WHERE (a) = 1").has_where
    assert parse_statement("DELETE FROM t").kind == DELETE
    update = parse_statement("UPDATE t SET a = (SELECT 1 FROM u WHERE x) ")
    assert update.kind == UPDATE and not update.has_where
    assert parse_statement("INSERT INTO t (a) SELECT a FROM u").as_select and parse_statement("INSERT INTO t VALUES (1)").kind == INSERT
    index = parse_statement("CREATE UNIQUE INDEX ux ON t (a, b) ALGORITHM=INPLACE LOCK=NONE")
    assert index.kind == CREATE_INDEX and index.specs[0].index.kind == "unique" and index.explicit_clause("lock") == "NONE"
    assert parse_statement("DROP INDEX ix ON t").kind == DROP_INDEX_STATEMENT
    assert parse_statement("CREATE OR REPLACE VIEW v AS SELECT 1").kind == OTHER_DDL
    assert parse_statement("CREATE DEFINER=`a`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @a = 1").kind == OTHER_DDL
    assert parse_statement("ALTER TABLE t PARTITION BY HASH(id) PARTITIONS 2").specs[0].action == PARTITIONING
    assert actions("ALTER TABLE t ADD COLUMN x INT, ALGORITHM=COPY PARTITION BY KEY(id)") == [ADD_COLUMN, ALGORITHM, PARTITIONING]
    assert actions("ALTER TABLE t COALESCE PARTITION 2") == [PARTITION_MANAGEMENT]
    assert parse_statement("ALTER TABLE t RENAME TO u").specs[0].action == RENAME_TABLE


def test_what_is_not_understood_is_marked_never_guessed():
    assert parse_statement("FROBNICATE t").kind == NOT_UNDERSTOOD
    assert parse_statement("SELECT 'unterminated").kind == NOT_UNDERSTOOD
    odd = parse_statement("ALTER TABLE t ADD COLUMN x INT, WIBBLE wobble")
    assert not odd.understood and odd.specs[1].action == UNKNOWN and "WIBBLE" in odd.unknown_parts[0]


@pytest.mark.parametrize("sql, expected", [
    ("ALTER TABLE t ADD COLUMN x INT", "ALTER TABLE t ADD COLUMN x INT, ALGORITHM=INSTANT, LOCK=NONE"),
    ("ALTER TABLE t ADD COLUMN x INT, ALGORITHM=COPY", "ALTER TABLE t ADD COLUMN x INT, ALGORITHM=COPY, ALGORITHM=INSTANT, LOCK=NONE"),
    ("ALTER TABLE t ADD COLUMN x INT PARTITION BY HASH(id)", "ALTER TABLE t ADD COLUMN x INT, ALGORITHM=INSTANT, LOCK=NONE PARTITION BY HASH(id)"),
    ("ALTER TABLE t PARTITION BY HASH(id)", "ALTER TABLE t ALGORITHM=INSTANT, LOCK=NONE PARTITION BY HASH(id)"),
    ("ALTER TABLE t ENGINE=InnoDB ROW_FORMAT=DYNAMIC", "ALTER TABLE t ENGINE=InnoDB ROW_FORMAT=DYNAMIC, ALGORITHM=INSTANT, LOCK=NONE"),
    ("CREATE INDEX i ON t (a) LOCK=SHARED ALGORITHM=COPY", "CREATE INDEX i ON t (a) ALGORITHM=INSTANT LOCK=NONE"),
    ("DROP INDEX `i` ON t", "ALTER TABLE `t` DROP INDEX `i`, ALGORITHM=INSTANT, LOCK=NONE"),
])
def test_the_algorithm_clause_goes_where_the_server_accepts_it(sql, expected):
    assert " ".join(with_algorithm(parse_statement(sql), "INSTANT", "NONE").split()) == " ".join(expected.split())


def test_statements_that_take_no_clause_are_refused_and_clauses_extracted_for_pt_osc():
    with pytest.raises(CannotRewrite):
        with_algorithm(parse_statement("ALTER TABLE t DROP PARTITION p1"), "INPLACE", None)
    with pytest.raises(CannotRewrite):
        with_algorithm(parse_statement("UPDATE t SET a = 1"), "INPLACE", None)
    assert alter_clauses(parse_statement("ALTER TABLE t ADD COLUMN x INT, DROP y, ALGORITHM=INPLACE, LOCK=NONE")) == \
        "ADD COLUMN x INT, DROP y"
    assert alter_clauses(parse_statement("CREATE UNIQUE INDEX u ON t (a, b(4))")) == "ADD UNIQUE INDEX `u` (`a`, `b`(4))"
    with pytest.raises(CannotRewrite):
        alter_clauses(parse_statement("ALTER TABLE t RENAME TO u"))
    assert "FORCE, ALGORITHM=INPLACE" in with_algorithm(parse_statement("ALTER TABLE t ADD x INT"), "INPLACE", "NONE", force=True)
