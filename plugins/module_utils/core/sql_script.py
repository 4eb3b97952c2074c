"""Split a SQL script into statements the way the ``mysql`` client does.

Quotes, backticks and comments are honoured, so a ``;`` inside a string or a
comment never ends a statement; ``DELIMITER`` lines switch the terminator so
triggers and routines can be written as in a client session. Each statement
keeps the line it starts on, so errors can point into the file.

Compound statements are also read without ``DELIMITER``, as tools that send a
whole statement at a time (dbmate, goose, Flyway) write them: inside a
``CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT`` (or MariaDB's ``BEGIN NOT ATOMIC``)
a ``;`` ends the statement only once every ``BEGIN``/``CASE`` has met its
``END``. Executable comments (``/*! ... */``, ``/*M! ... */``) are kept for the
server, which decides whether to run them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List

from .errors import SchemagateError

_DELIMITER_LINE = re.compile(r"^[ \t]*DELIMITER[ \t]+(\S+)[ \t]*$", re.IGNORECASE)
# Comments the server reads: executable comments (/*!, MariaDB's /*M!) and optimizer hints (/*+).
_KEPT_COMMENTS = ("/*!", "/*M!", "/*+")
# Statements whose body may hold ';'-terminated statements of its own.
COMPOUND_HEAD = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*(?:`[^`]*`|'[^']*'|\S+?)(?:@(?:`[^`]*`|'[^']*'|\S+))?\s+)?"
    r"(?:AGGREGATE\s+)?(?:PROCEDURE|FUNCTION|TRIGGER|EVENT)\b"
    r"|(?:\w+\s*:\s*)?BEGIN\s+NOT\s+ATOMIC\b)",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`(?:[^`]|``)*`", re.DOTALL)
_BLOCK_WORD = re.compile(
    r"\b(?:(END)\b(?:\s+(?:IF|LOOP|WHILE|REPEAT|CASE)\b)?|(BEGIN|CASE|IF|LOOP|WHILE|REPEAT)\b(\s*\(|\s+(?:NOT\s+)?EXISTS\b)?)",
    re.IGNORECASE,
)


def open_blocks(sql: str) -> int:
    """Blocks of a compound statement not yet closed by their END.

    ``BEGIN``, ``CASE``, ``IF ... THEN``, ``LOOP``, ``WHILE`` and ``REPEAT`` open one; ``END`` (with or
    without ``IF``/``CASE``/``LOOP``/``WHILE``/``REPEAT``) closes one. The functions ``IF(...)`` and
    ``REPEAT(...)`` and ``IF [NOT] EXISTS`` open nothing.
    """
    depth = 0
    for match in _BLOCK_WORD.finditer(_QUOTED.sub(" ", sql)):
        if match.group(1):
            depth -= 1
        elif match.group(3) and match.group(2).upper() in ("IF", "REPEAT"):
            continue  # IF(...), REPEAT(...), IF EXISTS: not blocks
        else:
            depth += 1
    return depth


def is_compound(sql: str) -> bool:
    return bool(COMPOUND_HEAD.match(sql))


@dataclass(frozen=True)
class Statement:
    sql: str
    line: int  # 1-based line where the statement starts in its file

    def summary(self, width: int = 120) -> str:
        flat = " ".join(self.sql.split())
        return flat if len(flat) <= width else flat[: width - 3] + "..."


def _starts_comment(script: str, i: int, delimiter: str) -> bool:
    if script.startswith(delimiter, i):
        return True
    if script.startswith("/*", i):
        return not script.startswith(_KEPT_COMMENTS, i)
    return script[i] == "#" or script.startswith("-- ", i) or script.startswith("--\n", i)


def split_statements(script: str, source: str = "<sql>", first_line: int = 1) -> List[Statement]:
    """Return the statements of ``script``; raise SchemagateError on an unterminated quote, comment or block.

    ``first_line`` is the line of the file where ``script`` starts (a section of a one-file migration).
    """
    statements: List[Statement] = []
    delimiter = ";"
    buf: List[str] = []
    start_line = first_line
    line = first_line
    i = 0
    n = len(script)
    at_line_start = True
    has_content = False  # does buf hold anything but white space yet?

    def flush() -> None:
        nonlocal has_content
        text = "".join(buf).strip()
        if text:
            statements.append(Statement(text, start_line))
        buf.clear()
        has_content = False

    def inside_compound() -> bool:
        # Only a ';' can be swallowed, so the (cheap) head test runs only at a ';'.
        text = "".join(buf)
        return is_compound(text) and open_blocks(text) > 0

    while i < n:
        if at_line_start:
            end = script.find("\n", i)
            end = n if end == -1 else end
            match = _DELIMITER_LINE.match(script[i:end])
            if match and not has_content:
                delimiter = match.group(1)
                i = end
                continue
        ch = script[i]
        at_line_start = False
        if not has_content and not ch.isspace() and not _starts_comment(script, i, delimiter):
            start_line = line
            has_content = True
        if ch == "\n":
            line += 1
            at_line_start = True
            buf.append(ch)
            i += 1
        elif ch in ("'", '"', "`"):
            j = i + 1
            while True:
                if j >= n:
                    raise SchemagateError(
                        f"{source}: line {line}: unterminated {ch} quote; close it or escape it"
                    )
                if script[j] == "\\" and ch != "`":
                    j += 2
                    continue
                if script[j] == ch:
                    if j + 1 < n and script[j + 1] == ch:  # doubled quote is an escaped quote
                        j += 2
                        continue
                    break
                j += 1
            chunk = script[i : j + 1]
            line += chunk.count("\n")
            buf.append(chunk)
            i = j + 1
        elif script.startswith("/*", i):
            j = script.find("*/", i + 2)
            if j == -1:
                raise SchemagateError(f"{source}: line {line}: unterminated /* comment; close it with */")
            chunk = script[i : j + 2]
            line += chunk.count("\n")
            if chunk.startswith(_KEPT_COMMENTS):
                buf.append(chunk)  # executable comment or optimizer hint: the server reads it
            else:
                buf.append(" ")
            i = j + 2
        elif ch == "#" or (script.startswith("--", i) and (i + 2 >= n or script[i + 2] in " \t\r\n")):
            j = script.find("\n", i)
            i = n if j == -1 else j
        elif script.startswith(delimiter, i):
            if delimiter == ";" and has_content and inside_compound():
                buf.append(ch)  # a statement of the compound's body, not the end of the compound
                i += 1
                continue
            flush()
            i += len(delimiter)
        else:
            buf.append(ch)
            i += 1
    if delimiter == ";" and has_content and inside_compound():
        head = " ".join("".join(buf).split())[:60]
        raise SchemagateError(
            f"{source}: line {start_line}: compound statement '{head}...' has a BEGIN without its END: "
            "close the block, or write the statement between DELIMITER $$ lines"
        )
    flush()
    return statements
