"""Allow annotations and the statements they belong to; type narrowing and its probe predicates (no server)."""
from __future__ import annotations

import pytest

from plugins.module_utils.core.annotations import ALLOW, ALTER_WRAPPER, attach, find_annotations
from plugins.module_utils.core.sql_parse import parse_column_type
from plugins.module_utils.core.sql_script import split_statements
from plugins.module_utils.gate.type_change import enum_change, misfit_predicate, narrowing

SCRIPT = """\
-- schemagate:allow DS102 moved to profiles
ALTER TABLE a
  DROP COLUMN b, -- schemagate:allow MF102 checked
  MODIFY c INT;
ALTER TABLE d DROP e; # schemagate:allow DS102 trailing
SELECT '-- schemagate:allow DS101 inside a string';
-- schemagate:alter-wrapper big table
-- schemagate:allow nothing here
ALTER TABLE f ADD g INT;
-- schemagate:allow DS101 after the last statement
"""


def test_annotations_belong_to_their_own_statement_or_the_next():
    statements = split_statements(SCRIPT)
    found = find_annotations(SCRIPT)
    attached, loose = attach(found, statements)
    assert [(a.kind, a.code, a.reason) for a in attached[0]] == [(ALLOW, "DS102", "moved to profiles"), (ALLOW, "MF102", "checked")]
    assert [a.reason for a in attached[1]] == ["trailing"]
    assert 2 not in attached  # the text inside a string literal is not an annotation
    assert [a.kind for a in attached[3]] == [ALTER_WRAPPER, ALLOW] and attached[3][1].problem
    assert [a.line for a in loose] == [10]


@pytest.mark.parametrize("old, new, narrows", [
    ("int", "bigint", False), ("bigint", "int", True), ("int unsigned", "int", True), ("int", "int unsigned", True),
    ("smallint unsigned", "int", False), ("int", "decimal(10,0)", False), ("int", "decimal(9,0)", True),
    ("decimal(10,2)", "decimal(12,2)", False), ("decimal(10,2)", "decimal(10,1)", True), ("decimal(10,2)", "int", True),
    ("double", "float", True), ("float", "double", False), ("varchar(50)", "varchar(100)", False),
    ("varchar(100)", "varchar(50)", True), ("text", "varchar(100)", True), ("varchar(100)", "text", False),
    ("tinytext", "varchar(255)", False), ("enum('a','bb')", "varchar(1)", True), ("enum('a','bb')", "varchar(2)", False),
    ("varchar(10)", "enum('a')", True), ("datetime(6)", "datetime", True), ("datetime", "date", True),
    ("datetime", "timestamp", True), ("timestamp", "datetime", False), ("date", "datetime", False), ("bit(8)", "bit(4)", True),
    ("varchar(10)", "int", True), ("varbinary(10)", "varchar(10)", True), ("json", "longtext", False),
])
def test_narrowing(old, new, narrows):
    assert bool(narrowing(parse_column_type(old), parse_column_type(new))) is narrows


def test_charset_narrowing_and_probe_predicates():
    utf8 = parse_column_type("varchar(100)")
    utf8.charset = "utf8mb4"
    latin = parse_column_type("varchar(100)")
    latin.charset = "latin1"
    assert "cannot hold every character" in narrowing(utf8, latin)
    assert narrowing(latin, utf8) is None
    assert "CONVERT(`c` USING latin1)" in misfit_predicate("`c`", utf8, latin)
    assert misfit_predicate("`c`", parse_column_type("int"), parse_column_type("tinyint unsigned")) == "(`c` < 0 OR `c` > 255)"
    assert misfit_predicate("`c`", parse_column_type("varchar(100)"), parse_column_type("varchar(20)")) == "(CHAR_LENGTH(`c`) > 20)"
    assert "ABS(`c`) >= 1e3" in misfit_predicate("`c`", parse_column_type("decimal(8,2)"), parse_column_type("decimal(5,2)"))
    assert misfit_predicate("`c`", parse_column_type("datetime"), parse_column_type("date")) == "(TIME(`c`) <> '00:00:00')"


def test_enum_changes():
    old = parse_column_type("enum('a','b','c')")
    assert enum_change(old, parse_column_type("enum('a','b','c','d')")) == ((), False, False)
    assert enum_change(old, parse_column_type("enum('a','c')")) == (("b",), False, False)
    assert enum_change(old, parse_column_type("enum('b','a','c')"))[1]
    assert enum_change(old, parse_column_type("enum('z','a','b','c')"))[2]
