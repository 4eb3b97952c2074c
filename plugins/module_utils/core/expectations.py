"""The expectations file: what the team reviewed and promised about the resulting schema.

One YAML file of named rules (tenant column, foreign keys and ON DELETE rules, unique keys,
indexes, enums, JSON columns, soft deletes, polymorphic pairs) that points at a structure
file (the exact tables, as ``catalog.read_tables`` reads them, loaded as the typed
``schema_model.Table``). The gate verifies against it and the smoke test reads its table
list; bad input in either file raises SchemagateError naming the file and the key.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from .checks import Waiver, parse_waivers
from .dialect import normalize_fk_rule
from .errors import SchemagateError
from .schema_model import Tables, describe_type, tables_from_dict

try:
    import yaml
except ImportError:  # reported when an expectations file is read
    yaml = None

_FK_RULE = re.compile(r"^([A-Za-z0-9_$]+)\s+ON\s+DELETE\s+(CASCADE|SET\s+NULL|RESTRICT|NO\s+ACTION|SET\s+DEFAULT)$", re.IGNORECASE)
_FK_RULE_HINT = "write '<table> ON DELETE <CASCADE|SET NULL|RESTRICT|NO ACTION>', e.g. 'customers ON DELETE SET NULL'"


@dataclass(frozen=True)
class ForeignKeyRule:
    column: str
    references: str
    on_delete: str

    def describe(self) -> str:
        return f"{self.column} -> {self.references} ON DELETE {self.on_delete}"


@dataclass
class TableRules:
    name: str
    foreign_keys: List[ForeignKeyRule] = field(default_factory=list)
    unique: Dict[str, List[str]] = field(default_factory=dict)
    indexes: Dict[str, List[str]] = field(default_factory=dict)
    enums: Dict[str, List[str]] = field(default_factory=dict)
    json: List[str] = field(default_factory=list)
    soft_delete: Optional[str] = None
    polymorphic: List[str] = field(default_factory=list)


@dataclass
class Expectations:
    path: str
    structure_path: str
    structure: Tables
    tenant: Optional[ForeignKeyRule]
    tables: Dict[str, TableRules]
    waivers: List[Waiver] = field(default_factory=list)


_TOP_KEYS = ("structure", "tenant", "tables", "waivers")
_TABLE_KEYS = ("foreign_keys", "unique", "indexes", "enums", "json", "soft_delete", "polymorphic")


def _bad(path: str, key: str, problem: str) -> SchemagateError:
    return SchemagateError(f"{path}: {key}: {problem}")


def _read_yaml(path: str) -> Any:
    """The parsed file; OSError when it cannot be read, SchemagateError naming the line when it is not YAML."""
    if yaml is None:
        raise SchemagateError("PyYAML is missing: pip install PyYAML on the host that runs the module.")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemagateError(f"{path}: {where}: invalid YAML ({problem}); fix the syntax.") from None


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _mapping(path: str, key: str, value: Any, allowed: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(path, key, f"must be a mapping, found {describe_type(value)}")
    for name in value:
        if not isinstance(name, str):
            raise _bad(path, key, f"key {name!r} must be a string; quote it")
        if allowed is not None and name not in allowed:
            raise _bad(path, f"{key}.{name}" if key else name, f"unknown key; use one of {', '.join(allowed)}")
    return value


def _string(path: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(path, key, f"must be a non-empty string, found {describe_type(value)}; quote it if YAML read it as another type")
    return value.strip()


def _strings(path: str, key: str, value: Any) -> List[str]:
    if not isinstance(value, list) or not value:
        raise _bad(path, key, f"must be a non-empty list of strings, found {describe_type(value)}")
    items = [_string(path, f"{key}[{position}]", item) for position, item in enumerate(value)]
    if len(set(items)) != len(items):
        raise _bad(path, key, "lists a value twice; remove the duplicate")
    return items


def _fk_rule(path: str, key: str, column: str, value: Any) -> ForeignKeyRule:
    match = _FK_RULE.match(_string(path, key, value))
    if not match:
        raise _bad(path, key, f"{value!r} is not a foreign key rule; {_FK_RULE_HINT}")
    rule = " ".join(match.group(2).upper().split())
    return ForeignKeyRule(column=column, references=match.group(1), on_delete=normalize_fk_rule(rule))


def load_expectations(path: str) -> Expectations:
    """Read and validate an expectations file and the structure file it points at."""
    try:
        data = _read_yaml(path)
    except OSError as exc:
        raise SchemagateError(f"Cannot read the expectations file {path}: {_reason(exc)}; check the path.") from None
    if not isinstance(data, dict):
        raise SchemagateError(f"{path}: must be a mapping with the keys {', '.join(_TOP_KEYS)}, found {describe_type(data)}.")
    _mapping(path, "", data, _TOP_KEYS)
    for required in ("structure", "tables"):
        if required not in data:
            raise _bad(path, required, "missing; add it (see expectations/phase_b.yaml)")

    structure_name = _string(path, "structure", data["structure"])
    structure_path = os.path.join(os.path.dirname(os.path.abspath(path)), structure_name)
    try:
        structure = _read_yaml(structure_path)
    except OSError as exc:
        raise _bad(path, "structure", f"cannot read {structure_path} ({_reason(exc)}); name a file relative to this one") from None
    if not isinstance(structure, dict) or not structure or not all(isinstance(spec, dict) for spec in structure.values()):
        raise _bad(path, "structure", f"{structure_path} must map table names to their structure (as catalog.read_tables gives it)")
    tables_of_structure = tables_from_dict(structure, structure_path)

    tenant = None
    if data.get("tenant") is not None:
        tenant_spec = _mapping(path, "tenant", data["tenant"])
        if len(tenant_spec) != 1:
            raise _bad(path, "tenant", "must hold exactly one entry, '<column>: <table> ON DELETE <rule>'")
        column, rule = next(iter(tenant_spec.items()))
        tenant = _fk_rule(path, f"tenant.{column}", column, rule)

    tables: Dict[str, TableRules] = {}
    for table, spec in _mapping(path, "tables", data["tables"]).items():
        tables[table] = _table_rules(path, table, spec)
    if not tables:
        raise _bad(path, "tables", "is empty; name at least one table")
    waivers = data.get("waivers") or []
    if not isinstance(waivers, list):
        raise _bad(path, "waivers", f"must be a list of {{code, object, reason}}, found {describe_type(waivers)}")
    return Expectations(
        path=path, structure_path=structure_path, structure=tables_of_structure, tenant=tenant, tables=tables,
        waivers=parse_waivers(waivers, path),
    )


def _table_rules(path: str, table: str, spec: Any) -> TableRules:
    key = f"tables.{table}"
    spec = _mapping(path, key, {} if spec is None else spec, _TABLE_KEYS)
    rules = TableRules(name=table)
    for column, rule in _mapping(path, f"{key}.foreign_keys", spec.get("foreign_keys", {})).items():
        rules.foreign_keys.append(_fk_rule(path, f"{key}.foreign_keys.{column}", column, rule))
    for kind in ("unique", "indexes", "enums"):
        entries = _mapping(path, f"{key}.{kind}", spec.get(kind, {}))
        getattr(rules, kind).update({name: _strings(path, f"{key}.{kind}.{name}", value) for name, value in entries.items()})
    if "json" in spec:
        rules.json = _strings(path, f"{key}.json", spec["json"])
    if "polymorphic" in spec:
        rules.polymorphic = _strings(path, f"{key}.polymorphic", spec["polymorphic"])
    if "soft_delete" in spec:
        rules.soft_delete = _string(path, f"{key}.soft_delete", spec["soft_delete"])
    return rules
