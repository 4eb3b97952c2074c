"""The statement splitter: quotes, comments and DELIMITER, as the mysql client reads them."""
from __future__ import annotations

import pytest

from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.sql_script import split_statements


def sqls(text):
    return [s.sql for s in split_statements(text)]


def test_semicolons_in_strings_comments_and_identifiers_do_not_split():
    text = "INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s');\n-- x; y\n# z;\nSELECT `we;ird` FROM t /* ; */;"
    assert sqls(text) == ["INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s')", "SELECT `we;ird` FROM t"]


def test_backslash_escapes_inside_strings():
    assert sqls("SELECT 'a\\';b';SELECT 2") == ["SELECT 'a\\';b'", "SELECT 2"]


def test_delimiter_lines_allow_routine_bodies():
    text = "DELIMITER $$\nCREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END$$\nDELIMITER ;\nSELECT 1;"
    assert sqls(text) == ["CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END", "SELECT 1"]


def test_statements_keep_their_starting_line():
    assert [s.line for s in split_statements("-- header\n\nCREATE TABLE a (x INT);\n\nDROP TABLE b;")] == [3, 5]


def test_executable_comments_are_kept():
    assert sqls("/*!40101 SET NAMES utf8mb4 */;") == ["/*!40101 SET NAMES utf8mb4 */"]


@pytest.mark.parametrize("text, what", [("SELECT 'x", "'"), ("SELECT `x", "`"), ("SELECT 1 /* x", "/*")])
def test_unterminated_tokens_are_reported(text, what):
    with pytest.raises(SchemagateError, match="unterminated"):
        split_statements(text, "f.sql")
