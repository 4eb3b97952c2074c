"""``-- schemagate:`` annotations in migration files, and the statement each belongs to.

Two annotations exist:

- ``-- schemagate:allow <CODE> <reason>``: a finding with that code on this statement
  is accepted knowingly; it is reported as allowed, with the reason, and blocks nothing.
- ``-- schemagate:alter-wrapper <reason>``: the deploy runs this ALTER through the
  configured alter wrapper (pt-online-schema-change) instead of natively.

An annotation belongs to the statement on whose lines it is written (a trailing
comment, or a comment inside a multi-line statement), otherwise to the next
statement of the file. ``#`` comments work as ``--`` comments do.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .sql_script import Statement

ALLOW = "allow"
ALTER_WRAPPER = "alter-wrapper"
KINDS = (ALLOW, ALTER_WRAPPER)

_ANNOTATION = re.compile(r"(?:--|#)\s*schemagate:(?P<kind>[A-Za-z-]+)(?P<rest>[^\n]*)")
_CODE = re.compile(r"^[A-Z]{2}\d{3}$")


@dataclass(frozen=True)
class Annotation:
    kind: str  # ALLOW or ALTER_WRAPPER, or what was written when it is neither
    code: str  # ALLOW: the code allowed
    reason: str
    line: int  # where it is written
    problem: str = ""  # why it is malformed ("" when it is well formed)


def find_annotations(text: str) -> List[Annotation]:
    """Every ``schemagate:`` annotation of a file, well formed or not, outside string literals."""
    found = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        position = _comment_start(line)
        if position < 0:
            continue
        match = _ANNOTATION.match(line, position)
        if not match:
            continue
        kind, rest = match.group("kind").lower(), match.group("rest").strip()
        if kind == ALLOW:
            code, _sep, reason = rest.partition(" ")
            reason = reason.strip()
            problem = ""
            if not _CODE.match(code):
                problem = f"'schemagate:allow' needs a check code (like DS102) first, found {code or 'nothing'!r}"
            elif not reason:
                problem = f"'schemagate:allow {code}' needs a reason after the code"
            found.append(Annotation(ALLOW, code, reason, line_number, problem))
        elif kind == ALTER_WRAPPER:
            found.append(Annotation(ALTER_WRAPPER, "", rest, line_number))
        else:
            found.append(Annotation(kind, "", rest, line_number,
                                    f"unknown annotation 'schemagate:{kind}': use schemagate:allow or schemagate:alter-wrapper"))
    return found


def _comment_start(line: str) -> int:
    """Where the line's ``--``/``#`` comment starts, skipping quoted text; -1 when there is none."""
    quote = ""
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "#" or (line.startswith("--", i) and (i + 2 >= len(line) or line[i + 2] in " \t")):
            return i
        i += 1
    return -1


def statement_span(statement: Statement) -> Tuple[int, int]:
    """First and last line of a statement in its file."""
    return statement.line, statement.line + statement.sql.count("\n")


def attach(annotations: Iterable[Annotation], statements: Sequence[Statement]) -> Tuple[Dict[int, List[Annotation]], List[Annotation]]:
    """Map statement index -> its annotations; and the annotations that belong to no statement."""
    spans = [statement_span(s) for s in statements]
    attached: Dict[int, List[Annotation]] = {}
    loose: List[Annotation] = []
    for annotation in annotations:
        index = _owner(annotation.line, spans)
        if index is None:
            loose.append(annotation)
        else:
            attached.setdefault(index, []).append(annotation)
    return attached, loose


def _owner(line: int, spans: Sequence[Tuple[int, int]]) -> Optional[int]:
    for index, (first, last) in enumerate(spans):
        if first <= line <= last:
            return index
    following = [index for index, (first, _last) in enumerate(spans) if first > line]
    return following[0] if following else None


def allowed_codes(annotations: Iterable[Annotation]) -> Dict[str, Annotation]:
    return {a.code: a for a in annotations if a.kind == ALLOW and not a.problem}


def wants_alter_wrapper(annotations: Iterable[Annotation]) -> Optional[Annotation]:
    return next((a for a in annotations if a.kind == ALTER_WRAPPER and not a.problem), None)


def read_file_text(path: str) -> str:
    """The file's text for annotation scanning; '' if it cannot be read (the loader reports that)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""
