"""Does a column's new type hold less than its old one, and which existing values would not fit?

``narrowing`` answers the lint's question (MF102) from the two type definitions;
``misfit_predicate`` turns the same comparison into a SQL condition that is true
for an existing value the new type cannot hold, for the data probe (DP104).
Both understand integers (range and sign), DECIMAL precision and scale, floats,
string capacity in characters or bytes and the character set's repertoire,
ENUM/SET lists, temporal types with fractional seconds, BIT and JSON.
"""
from __future__ import annotations

from typing import Optional, Tuple

from ..core.sql_parse import ColumnType

_INT_BITS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "bigint": 64}
_TEXT_BYTES = {"tinytext": 255, "text": 65535, "mediumtext": 16777215, "longtext": 4294967295, "json": 4294967295,
               "tinyblob": 255, "blob": 65535, "mediumblob": 16777215, "longblob": 4294967295}
_BINARY = ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob")
_CHAR_TYPES = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "json")
_TEMPORAL = ("date", "datetime", "timestamp", "time", "year")
# Bytes per character, and how much of Unicode a character set can hold (ascii < single-byte < BMP < all).
_MAX_BYTES = {"utf8mb4": 4, "utf16": 4, "utf16le": 4, "utf32": 4, "utf8mb3": 3, "utf8": 3, "ucs2": 2, "ujis": 3,
              "sjis": 2, "gbk": 2, "gb2312": 2, "gb18030": 4, "big5": 2, "euckr": 2, "cp932": 2, "eucjpms": 3}
_REPERTOIRE = {"ascii": 0, "binary": 0, "utf8mb3": 2, "utf8": 2, "ucs2": 2, "utf8mb4": 3, "utf16": 3, "utf16le": 3,
               "utf32": 3, "gb18030": 3}


def family(column_type: ColumnType) -> str:
    name = column_type.name
    if name in _INT_BITS:
        return "integer"
    if name in ("decimal",):
        return "decimal"
    if name in ("float", "double"):
        return "float"
    if name in ("char", "varchar", "binary", "varbinary") or name in _TEXT_BYTES:
        return "string"
    if name in ("enum", "set"):
        return name
    if name in _TEMPORAL:
        return "temporal"
    if name == "bit":
        return "bit"
    return name


def int_range(column_type: ColumnType) -> Tuple[int, int]:
    bits = _INT_BITS[column_type.name]
    if column_type.unsigned:
        return 0, 2 ** bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def decimal_shape(column_type: ColumnType) -> Tuple[int, int]:
    """(precision, scale), with MySQL's defaults DECIMAL = DECIMAL(10,0)."""
    args = [int(a) for a in column_type.args if a.isdigit()]
    precision = args[0] if args else 10
    scale = args[1] if len(args) > 1 else 0
    return precision, scale


def _charset_bytes(charset: Optional[str]) -> int:
    return _MAX_BYTES.get((charset or "").lower(), 1)


def _repertoire(charset: Optional[str]) -> int:
    return _REPERTOIRE.get((charset or "").lower(), 1)


def loses_characters(old_charset: Optional[str], new_charset: Optional[str]) -> bool:
    """Whether text in ``old_charset`` may hold characters ``new_charset`` cannot (utf8mb4 -> latin1, latin1 -> cp1251)."""
    if not old_charset or not new_charset or old_charset.lower() == new_charset.lower() or old_charset.lower() == "binary":
        return False
    old, new = _repertoire(old_charset), _repertoire(new_charset)
    return new < old or new == old == 1


def capacity(column_type: ColumnType) -> Tuple[str, int]:
    """("chars", n) or ("bytes", n): how much a string type holds."""
    name = column_type.name
    if name in ("char", "varchar", "binary", "varbinary"):
        length = int(column_type.args[0]) if column_type.args and column_type.args[0].isdigit() else 1
        return ("bytes" if name in _BINARY else "chars"), length
    if name in _BINARY:
        return "bytes", _TEXT_BYTES[name]
    return "chars", _TEXT_BYTES.get(name, 0) // _charset_bytes(column_type.charset)


def _fsp(column_type: ColumnType) -> int:
    return int(column_type.args[0]) if column_type.args and column_type.args[0].isdigit() else 0


def _int_digits(column_type: ColumnType) -> int:
    low, high = int_range(column_type)
    return max(len(str(abs(low))), len(str(high)))


def narrowing(old: ColumnType, new: ColumnType) -> Optional[str]:
    """Why ``new`` holds less than ``old``, or None when every value of ``old`` fits ``new``."""
    old_family, new_family = family(old), family(new)
    describe = f"{old.render()} -> {new.render()}"
    if old_family == "integer" and new_family == "integer":
        (old_low, old_high), (new_low, new_high) = int_range(old), int_range(new)
        if new_low > old_low or new_high < old_high:
            return f"{describe}: values outside {new_low}..{new_high} do not fit"
        return None
    if old_family == "integer" and new_family == "decimal":
        precision, scale = decimal_shape(new)
        if precision - scale < _int_digits(old):
            return f"{describe}: integers of more than {precision - scale} digits do not fit"
        return None
    if old_family == "integer" and new_family == "float":
        if (new.name == "float" and _INT_BITS[old.name] > 24) or (new.name == "double" and _INT_BITS[old.name] > 53):
            return f"{describe}: large integers lose precision"
        return None
    if old_family == "decimal" and new_family == "decimal":
        (old_p, old_s), (new_p, new_s) = decimal_shape(old), decimal_shape(new)
        if new_p - new_s < old_p - old_s or new_s < old_s or (new.unsigned and not old.unsigned):
            return f"{describe}: fewer integer digits, decimals or no negatives"
        return None
    if old_family in ("decimal", "float") and new_family == "integer":
        return f"{describe}: fractions are rounded away and the range is smaller"
    if old_family == "float" and new_family == "float":
        return f"{describe}: single precision holds less" if old.name == "double" and new.name == "float" else None
    if old_family == "float" and new_family == "decimal":
        return f"{describe}: floating-point values may not fit the fixed precision"
    if old_family in ("string", "enum", "set") and new_family == "string":
        return _string_narrowing(old, new, describe)
    if old_family == "enum" and new_family == "enum" or old_family == "set" and new_family == "set":
        removed = [v for v in old.args if v not in new.args]
        return f"{describe}: values {', '.join(removed)} removed" if removed else None
    if old_family == "string" and new_family in ("enum", "set"):
        return f"{describe}: strings outside the list do not fit"
    if old_family == "temporal" and new_family == "temporal":
        return _temporal_narrowing(old, new, describe)
    if old_family == "bit" and new_family == "bit":
        old_bits = int(old.args[0]) if old.args else 1
        new_bits = int(new.args[0]) if new.args else 1
        return f"{describe}: fewer bits" if new_bits < old_bits else None
    if old_family == "integer" and new_family == "string":
        kind, size = capacity(new)
        return f"{describe}: long numbers do not fit" if size < _int_digits(old) + (0 if old.unsigned else 1) else None
    if old_family == new_family and old.name == new.name:
        return None
    return f"{describe}: the type changes family ({old_family} to {new_family}); values may not convert"


def _string_narrowing(old: ColumnType, new: ColumnType, describe: str) -> Optional[str]:
    if old.name in ("enum", "set"):
        longest = max((len(v) for v in old.args), default=0)
        if old.name == "set":
            longest = sum(len(v) for v in old.args) + max(len(old.args) - 1, 0)
        kind, size = capacity(new)
        return f"{describe}: values up to {longest} characters do not fit in {size}" if size < longest else None
    old_kind, old_size = capacity(old)
    new_kind, new_size = capacity(new)
    old_binary, new_binary = old.name in _BINARY, new.name in _BINARY
    if old_binary != new_binary:
        return f"{describe}: text and binary strings convert with a character set"
    if old_kind == new_kind and new_size < old_size:
        return f"{describe}: longer values do not fit ({new_size} {new_kind} < {old_size})"
    if old_kind != new_kind:
        old_bytes = old_size * (_charset_bytes(old.charset) if old_kind == "chars" else 1)
        new_bytes = new_size * (_charset_bytes(new.charset) if new_kind == "chars" else 1)
        if new_bytes < old_bytes:
            return f"{describe}: longer values do not fit"
    if not old_binary and loses_characters(old.charset, new.charset):
        return f"{describe}: character set {old.charset} -> {new.charset} cannot hold every character"
    return None


def _temporal_narrowing(old: ColumnType, new: ColumnType, describe: str) -> Optional[str]:
    if old.name == new.name:
        return f"{describe}: fewer fractional-second digits" if _fsp(new) < _fsp(old) else None
    if old.name in ("datetime", "timestamp") and new.name == "date":
        return f"{describe}: the time of day is lost"
    if old.name == "datetime" and new.name == "timestamp":
        return f"{describe}: dates outside 1970-2038 do not fit a TIMESTAMP"
    if old.name in ("date", "timestamp") and new.name == "datetime":
        return f"{describe}: fewer fractional-second digits" if _fsp(new) < _fsp(old) else None
    if old.name == "date" and new.name == "timestamp":
        return f"{describe}: dates outside 1970-2038 do not fit a TIMESTAMP"
    return f"{describe}: values do not convert between these temporal types"


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def misfit_predicate(column_sql: str, old: ColumnType, new: ColumnType) -> Optional[str]:
    """A SQL condition, true for a non-NULL value of ``old`` that ``new`` cannot hold; None when not expressible."""
    old_family, new_family = family(old), family(new)
    col = column_sql
    if new_family == "integer" and old_family in ("integer", "decimal", "float"):
        low, high = int_range(new)
        fraction = "" if old_family == "integer" else f" OR {col} <> FLOOR({col})"
        return f"({col} < {low} OR {col} > {high}{fraction})"
    if new_family == "decimal" and old_family in ("integer", "decimal", "float"):
        precision, scale = decimal_shape(new)
        parts = [f"ABS({col}) >= 1e{precision - scale}"]
        if old_family != "integer":
            parts.append(f"{col} <> ROUND({col}, {scale})")
        if new.unsigned:
            parts.append(f"{col} < 0")
        return "(" + " OR ".join(parts) + ")"
    if new_family == "float" and old_family == "float" and new.name == "float":
        return f"(ABS({col}) > 3.402823466e38)"
    if new_family == "string" and old_family in ("string", "enum", "set", "integer"):
        kind, size = capacity(new)
        if old_family == "string" and old.name not in _BINARY and new.name not in _BINARY and old.charset and new.charset \
                and old.charset != new.charset:
            converted = f"CONVERT({col} USING {new.charset})"
            lossy = f"CAST(CONVERT({converted} USING {old.charset}) AS BINARY) <> CAST({col} AS BINARY)"
            length = f"CHAR_LENGTH({col}) > {size}" if kind == "chars" else f"LENGTH({converted}) > {size}"
            return f"({lossy} OR {length})"
        return f"(CHAR_LENGTH({col}) > {size})" if kind == "chars" else f"(LENGTH({col}) > {size})"
    if new_family in ("enum", "set") and old_family in ("string", "enum", "set"):
        values = ", ".join(_sql_string(v) for v in new.args)
        if new_family == "enum":
            return f"({col} NOT IN ({values}))" if values else "(1 = 1)"
        allowed = " ".join(f"AND FIND_IN_SET({_sql_string(v)}, {col}) = 0" for v in new.args)
        return f"({col} <> '' {allowed})"  # a value none of whose members is allowed (approximation for multi-member values)
    if new_family == "temporal" and old_family == "temporal":
        if old.name in ("datetime", "timestamp") and new.name == "date":
            return f"(TIME({col}) <> '00:00:00')"
        if new.name == "timestamp" and old.name in ("datetime", "date"):
            return f"({col} < '1970-01-01 00:00:01' OR {col} > '2038-01-19 03:14:07')"
        if _fsp(new) < _fsp(old):
            return f"(MICROSECOND({col}) % {10 ** (6 - _fsp(new))} <> 0)"
        return None
    if new_family == "bit" and old_family == "bit":
        bits = int(new.args[0]) if new.args else 1
        return f"({col} >= {2 ** bits})"
    if new_family == "integer" and old_family == "string":
        low, high = int_range(new)
        return f"({col} NOT REGEXP '^[-+]?[0-9]+$' OR CAST({col} AS DECIMAL(65,0)) < {low} OR CAST({col} AS DECIMAL(65,0)) > {high})"
    return None


def enum_change(old: ColumnType, new: ColumnType) -> Tuple[Tuple[str, ...], bool, bool]:
    """(values of ``old`` missing from ``new``, whether the kept values changed order, whether values were inserted
    before existing ones). Only appending keeps every existing value's position (and the table's sort order)."""
    if family(old) not in ("enum", "set") or family(new) != family(old):
        return (), False, False
    removed = tuple(v for v in old.args if v not in new.args)
    kept_old = [v for v in old.args if v in new.args]
    kept_new = [v for v in new.args if v in old.args]
    reordered = kept_old != kept_new
    inserted = not reordered and not removed and tuple(new.args[:len(old.args)]) != tuple(old.args)
    return removed, reordered, inserted


def enum_used_predicate(column_sql: str, column_type: ColumnType, values: Tuple[str, ...]) -> str:
    quoted = ", ".join(_sql_string(v) for v in values)
    if column_type.name == "set":
        return "(" + " OR ".join(f"FIND_IN_SET({_sql_string(v)}, {column_sql}) > 0" for v in values) + ")"
    return f"({column_sql} IN ({quoted}))"
