"""MySQL/MariaDB option files, read and written as the server's own client library does.

The one parser for every option file schemagate reads (``config_file``) and the one writer for every
option file it hands to a client program. The rules are the MySQL manual's ("Using Option Files") as
implemented by ``mysys/my_default.c``:

- a line whose first non-blank character is ``#`` or ``;`` is a comment; blank lines are ignored;
- ``[group]`` starts a group (blanks before ``]`` are dropped); an option before any group is an error;
- ``!include FILE`` reads FILE there (a missing file is skipped, as the tools skip it);
  ``!includedir DIR`` reads every ``*.cnf`` file of DIR in name order (a missing DIR is an error);
  includes nest at most 10 deep; an included file starts with no group of its own;
- ``name`` or ``name = value``; blanks around the name and the value are dropped; ``_`` and ``-`` are
  the same in a name and a ``loose-`` prefix is ignored;
- outside quotes, ``#`` starts a comment anywhere on a line; inside ``'...'`` or ``"..."`` it does not
  (a backslash there protects the next quote);
- a value whose first and last characters are the same quote loses them; then the escapes ``\\b \\t \\n
  \\r \\\\ \\s \\" \\'`` become backspace, tab, newline, carriage return, backslash, space and the quote;
  a backslash before anything else stays as it is;
- options of every group read are taken in file order, so a later one overrides an earlier one,
  whichever of those groups it is in.

schemagate reads the groups every MariaDB/MySQL client program reads, ``[client]``,
``[client-server]`` and ``[client-mariadb]``, plus its own ``[schemagate]``. ``[mysql]`` is the
``mysql``/``mariadb`` command-line client's own group: like ``mariadb-dump``, schemagate ignores it.

Errors name the file and line, never the line's text (it may hold a password). A world-writable
file is refused, as the server's tools ignore one.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .errors import SchemagateError

CLIENT_GROUPS: Tuple[str, ...] = ("client", "client-server", "client-mariadb", "schemagate")
MAX_INCLUDE_DEPTH = 10
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "r": "\r", "s": " ", "\\": "\\", '"': '"', "'": "'"}
_BLANKS = " \t\n\r\v\f"


class OptionFileError(SchemagateError):
    """An option file that cannot be read; the message names file and line only."""


@dataclass(frozen=True)
class Option:
    group: str
    name: str
    value: Optional[str]
    path: str
    line: int


def normalise_name(name: str) -> str:
    name = name.strip(_BLANKS).replace("_", "-")
    return name[len("loose-"):] if name.startswith("loose-") else name


def _remove_end_comment(text: str) -> str:
    quote = ""
    escape = False
    for index, char in enumerate(text):
        if char in "'\"" and not escape:
            if not quote:
                quote = char
            elif quote == char:
                quote = ""
        if not quote and char == "#":
            return text[:index]
        escape = bool(quote) and char == "\\" and not escape
    return text


def unescape_value(raw: str) -> str:
    """A value as written after ``=`` (comment already removed), as the client library reads it."""
    value = raw.strip(_BLANKS)
    if len(value) > 1 and value[0] in "'\"" and value[0] == value[-1]:
        value = value[1:-1]
    out: List[str] = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index != len(value) - 1:
            index += 1
            nxt = value[index]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
        else:
            out.append(char)
        index += 1
    return "".join(out)


def parse_lines(lines: Iterable[str], path: str, depth: int = 0) -> List[Option]:
    """Every option of the text, in order, with its group (includes followed)."""
    options: List[Option] = []
    group: Optional[str] = None
    for number, line in enumerate(lines, 1):
        text = line.lstrip(_BLANKS)
        if not text or text[0] in "#;":
            continue
        if text[0] == "!":
            options += _directive(text[1:].lstrip(_BLANKS), path, number, depth)
            continue
        if text[0] == "[":
            end = text.find("]", 1)
            if end < 0:
                raise OptionFileError(f"Option file {path} line {number}: a group name without its closing ']'.")
            group = text[1:end].rstrip(_BLANKS)
            continue
        if group is None:
            raise OptionFileError(f"Option file {path} line {number}: an option before any [group].")
        text = _remove_end_comment(text)
        name, sep, value = text.partition("=")
        name = normalise_name(name)
        if not name:
            continue
        options.append(Option(group, name, unescape_value(value) if sep else None, path, number))
    return options


def _directive(text: str, path: str, number: int, depth: int) -> List[Option]:
    for keyword in ("includedir", "include"):
        if text.startswith(keyword) and len(text) > len(keyword) and text[len(keyword)] in _BLANKS:
            argument = text[len(keyword):].strip(_BLANKS)
            if not argument:
                raise OptionFileError(f"Option file {path} line {number}: '!{keyword}' names no file.")
            if depth + 1 >= MAX_INCLUDE_DEPTH:
                raise OptionFileError(f"Option file {path} line {number}: includes nest more than {MAX_INCLUDE_DEPTH} deep.")
            if keyword == "include":
                return read_options(argument, depth + 1, missing_ok=True)
            try:
                names = sorted(name for name in os.listdir(argument) if name.endswith(".cnf"))
            except OSError as exc:
                raise OptionFileError(
                    f"Option file {path} line {number}: cannot read the !includedir {argument}: {exc.strerror or exc}."
                ) from None
            found: List[Option] = []
            for name in names:
                found += read_options(os.path.join(argument, name), depth + 1, missing_ok=True)
            return found
    return []  # an unknown directive is skipped, as the tools skip it


def read_options(path: str, depth: int = 0, missing_ok: bool = False) -> List[Option]:
    """Every option of the file at ``path`` (and of what it includes), in order."""
    path = os.path.expanduser(path)
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            data = handle.read()
    except FileNotFoundError:
        if missing_ok:
            return []
        raise OptionFileError(f"Cannot read the option file {path}: it does not exist.") from None
    except OSError as exc:
        if missing_ok and depth:
            return []
        raise OptionFileError(f"Cannot read the option file {path}: {exc.strerror or exc}.") from None
    if stat.S_ISREG(info.st_mode) and info.st_mode & stat.S_IWOTH:
        raise OptionFileError(f"The option file {path} is world-writable: anyone could change the account it names (chmod o-w).")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OptionFileError(f"The option file {path} is not UTF-8 (byte {exc.start}).") from None
    return parse_lines(text.splitlines(), path, depth)


def read_groups(path: str, groups: Sequence[str] = CLIENT_GROUPS) -> Dict[str, Optional[str]]:
    """The options of ``groups`` in the file, later ones overriding earlier ones."""
    values: Dict[str, Optional[str]] = {}
    for option in read_options(path):
        if option.group in groups:
            values[option.name] = option.value
    return values


def quote_value(value: object) -> str:
    """``value`` written so the client library reads back exactly it ('#', quotes, blanks, backslashes, any Unicode)."""
    text = str(value)
    for char, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"), ("\b", "\\b")):
        text = text.replace(char, escaped)
    return f'"{text}"'


def render(group: str, values: Mapping[str, object], extra_lines: Sequence[str] = ()) -> str:
    """One ``[group]`` of ``name="value"`` lines (None and "" left out), then ``extra_lines`` verbatim."""
    lines = [f"[{group}]"]
    lines += [f"{name}={quote_value(value)}" for name, value in values.items() if value not in (None, "")]
    lines += list(extra_lines)
    return "\n".join(lines) + "\n"
