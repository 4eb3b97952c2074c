"""Option files parsed as the MySQL manual ("Using Option Files") and mysys/my_default.c specify."""
from __future__ import annotations

import os

import pytest

from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.option_file import parse_lines, quote_value, read_groups, render, unescape_value


def write(path, text: str, mode: int = 0o600) -> str:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return str(path)


def options(text: str):
    return {(o.group, o.name): o.value for o in parse_lines(text.splitlines(), "test.cnf")}


def test_the_manuals_first_example():
    found = options(
        "[client]\nport=3306\nsocket=/tmp/mysql.sock\n\n[mysqld]\nport=3306\nsocket=/tmp/mysql.sock\n"
        "key_buffer_size=16M\nmax_allowed_packet=128M\n\n[mysqldump]\nquick\n"
    )
    assert found[("client", "port")] == "3306"
    assert found[("client", "socket")] == "/tmp/mysql.sock"
    assert found[("mysqld", "key-buffer-size")] == "16M"  # '_' and '-' are the same in a name
    assert found[("mysqldump", "quick")] is None  # an option without a value


def test_the_manuals_user_file_example_quoted_password_and_comment():
    found = options(
        "[client]\n# The following password is sent to all standard MySQL clients\n"
        'password="my password"\n\n[mysql]\nno-auto-rehash\nconnect_timeout=2\n'
    )
    assert found[("client", "password")] == "my password"
    assert found[("mysql", "connect-timeout")] == "2"
    assert ("client", "#") not in found


@pytest.mark.parametrize("written, read", [
    (r'"C:\\Program Files\\MySQL\\MySQL Server 8.0"', "C:\\Program Files\\MySQL\\MySQL Server 8.0"),
    (r'"C:\Program Files\MySQL\MySQL Server 8.0"', "C:\\Program Files\\MySQL\\MySQL Server 8.0"),  # \P, \M kept
    (r"C:\\Program\sFiles", "C:\\Program Files"),
    (r"a\bb\tc\nd\re", "a\bb\tc\nd\re"),
    (r'"say \"hi\" it\'s"', "say \"hi\" it's"),
    (r"'single # not a comment'", "single # not a comment"),
    ("  spaced value   ", "spaced value"),
    ('"  kept inside quotes  "', "  kept inside quotes  "),
    ("value # a comment", "value"),
    ("val#ue", "val"),  # '#' starts a comment anywhere outside quotes
    ('"unbalanced', '"unbalanced'),
    ('"', '"'),
    ("trailing\\", "trailing\\"),
    ("pä$$wörd-日本", "pä$$wörd-日本"),
    ("", ""),
])
def test_values_quotes_escapes_and_comments(written, read):
    assert options(f"[client]\npassword={written}\n")[("client", "password")] == read


def test_comment_lines_blank_lines_and_blanks_around_names():
    found = options("\n  # comment\n; also a comment\n[client ]\n  user  =  me  \n  loose_ssl-ca = /ca.pem\n")
    assert found == {("client", "user"): "me", ("client", "ssl-ca"): "/ca.pem"}  # loose- prefix ignored


def test_errors_name_file_and_line_never_the_text():
    with pytest.raises(SchemagateError) as raised:
        options("password=secret-before-group\n")
    assert "line 1" in str(raised.value) and "secret" not in str(raised.value)
    with pytest.raises(SchemagateError) as raised:
        options("[client\npassword=x\n")
    assert "line 1" in str(raised.value)


def test_later_options_override_earlier_in_every_group_read(tmp_path):
    path = write(tmp_path / "my.cnf", "[client]\nuser=a\npassword=1\n[mysql]\nuser=only-mysql\n[client-server]\nuser=b\n"
                                      "[client-mariadb]\nport=3307\n[schemagate]\npassword=2\n[mysqld]\nuser=mysql\n")
    assert read_groups(path) == {"user": "b", "password": "2", "port": "3307"}


def test_include_and_includedir(tmp_path):
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    write(conf_d / "20-b.cnf", "[client]\nport=2\n")
    write(conf_d / "10-a.cnf", "[client]\nport=1\nhost=h\n")
    write(conf_d / "ignored.txt", "[client]\nport=99\n")
    inc = write(tmp_path / "inc.cnf", "[client]\nuser=included\n")
    main = write(tmp_path / "main.cnf", f"[client]\nuser=first\n!include {inc}\n!includedir {conf_d}\n"
                                        f"!include {tmp_path}/missing.cnf\n!unknown directive\npassword=after\n")
    assert read_groups(main) == {"user": "included", "port": "2", "host": "h", "password": "after"}


def test_includes_are_bounded_and_a_missing_dir_is_an_error(tmp_path):
    loop = tmp_path / "loop.cnf"
    write(loop, f"[client]\n!include {loop}\n")
    with pytest.raises(SchemagateError, match="nest more than"):
        read_groups(str(loop))
    bad = write(tmp_path / "bad.cnf", f"[client]\n!includedir {tmp_path}/nope\n")
    with pytest.raises(SchemagateError, match="includedir"):
        read_groups(bad)


def test_world_writable_and_missing_files_are_refused(tmp_path):
    with pytest.raises(SchemagateError, match="world-writable"):
        read_groups(write(tmp_path / "open.cnf", "[client]\nuser=x\n", 0o666))
    with pytest.raises(SchemagateError, match="does not exist"):
        read_groups(str(tmp_path / "none.cnf"))


@pytest.mark.parametrize("value", ['a"b', "a'b", "back\\slash", "has # hash", " lead and trail ", "tab\tnl\ncr\r",
                                   "pä$$wörd-日本", "\\s literal", "ends with \\", '"quoted"'])
def test_what_we_write_reads_back_as_itself(value, tmp_path):
    assert unescape_value(quote_value(value)) == value
    path = write(tmp_path / "w.cnf", render("client", {"password": value, "user": "u", "port": None}))
    assert read_groups(path) == {"password": value, "user": "u"}
