"""The typed schema model: exact round trips of the structure files, fingerprints that keep their value,
differences (comments included), and one-line errors naming the file and the key. No server."""
from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import os
import shutil

import pytest
import yaml

from plugins.module_utils.core.catalog import diff_tables, fingerprint
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.expectations import load_expectations
from plugins.module_utils.core.schema_model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Schema,
    Table,
    tables_from_dict,
    tables_to_dict,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPECTATIONS = os.path.join(REPO, "expectations")


@functools.lru_cache(maxsize=None)
def _parsed(name: str):
    with open(os.path.join(EXPECTATIONS, name), encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def read_yaml(name: str):
    """A file of expectations/, parsed once (a fresh copy each time: tests change it)."""
    return copy.deepcopy(_parsed(name))


# The structure files are the ones that map table names to tables (an expectations file names one under 'structure').
STRUCTURE_FILES = sorted(name for name in os.listdir(EXPECTATIONS) if name.endswith(".yaml") and "structure" not in read_yaml(name))
TABLES = [(name, table) for name in STRUCTURE_FILES for table in read_yaml(name)]


def whole_structure(tables):
    return {"tables": tables, "views": {}, "triggers": {}, "routines": {}}


def fingerprint_before_the_model(structure) -> str:
    """catalog.fingerprint as it was when structures were plain dicts: sha256 of their canonical JSON."""
    return hashlib.sha256(json.dumps(structure, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")).hexdigest()


def without_comments(tables):
    plain = json.loads(json.dumps(tables))
    for table in plain.values():
        table.pop("comment", None)
        for column in table["columns"]:
            column.pop("comment", None)
    return plain


# --------------------------------------------------------------------------- round trips
def test_the_structure_files_are_found():
    assert STRUCTURE_FILES == ["base_schema.yaml", "phase_b_schema.yaml"]
    assert len(TABLES) == 12


@pytest.mark.parametrize("name, table", TABLES, ids=[f"{name}:{table}" for name, table in TABLES])
def test_every_table_of_the_structure_files_round_trips_exactly(name, table):
    spec = read_yaml(name)[table]
    model = Table.from_dict(spec, name=table)
    assert model.to_dict() == spec
    # The same keys in the same order, so a file written from the model reads as the one checked in.
    assert yaml.safe_dump(model.to_dict(), sort_keys=False) == yaml.safe_dump(spec, sort_keys=False)
    assert model.name == table


@pytest.mark.parametrize("name", STRUCTURE_FILES)
def test_a_whole_structure_file_round_trips(name):
    data = read_yaml(name)
    tables = tables_from_dict(data, name)
    assert tables_to_dict(tables) == data and list(tables) == list(data)
    schema = Schema(tables=tables, views={"v": "select 1 AS `x`"}, triggers={"t": "BEFORE INSERT ON x: SET NEW.a = 1"}, routines={"procedure p": "BEGIN END"})
    assert Schema.from_dict(schema.to_dict()) == schema


def test_the_model_is_frozen_and_hashable():
    table = Table.from_dict(read_yaml("phase_b_schema.yaml")["callback_requests"], name="callback_requests")
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.engine = "MyISAM"  # type: ignore[misc]
    assert isinstance(table.columns, tuple) and isinstance(table.indexes[0].columns, tuple)
    assert len({table, Table.from_dict(table.to_dict(), name="callback_requests")}) == 1


# --------------------------------------------------------------------------- fingerprints
@pytest.mark.parametrize("name", STRUCTURE_FILES)
def test_a_model_fingerprints_as_its_dict_form_did(name):
    data = read_yaml(name)
    tables = tables_from_dict(data)
    assert fingerprint(Schema(tables=tables)) == fingerprint_before_the_model(whole_structure(data))
    assert fingerprint(tables) == fingerprint_before_the_model(data) == fingerprint(data)


def test_the_worked_example_keeps_its_fingerprints_except_where_comments_were_added():
    # The values catalog.fingerprint gave for these structures before the typed model and the comments.
    base = tables_from_dict(read_yaml("base_schema.yaml"))
    assert fingerprint(Schema(tables=base)) == "7ca679a867930977048d351bbd60c2394f8e0809cca3069cec41698571837809"
    phase_b = read_yaml("phase_b_schema.yaml")
    uncommented = tables_from_dict(without_comments(phase_b))
    assert fingerprint(Schema(tables=uncommented)) == "d7c698c54552c096728a7a8c1a0b91010566b7c825aad722968ef502e43777c5"
    # With the application's comments the schema is another one, and says so.
    assert fingerprint(Schema(tables=tables_from_dict(phase_b))) == "2a6b1f5e9e3c5f13ee6b02fc225137e69b6649515fedb55dda8ceec04a639ed1"


# --------------------------------------------------------------------------- comments
def test_comments_are_left_out_when_empty_and_kept_when_present():
    plain = Column("reason", "text", True)
    assert plain.to_dict() == {"name": "reason", "type": "text", "nullable": True}
    commented = dataclasses.replace(plain, comment="Why the customer cancelled")
    assert commented.to_dict() == {"name": "reason", "type": "text", "nullable": True, "comment": "Why the customer cancelled"}
    assert Column.from_dict(commented.to_dict()) == commented
    table = Table("notes", "InnoDB", "utf8mb4_unicode_ci", (commented,), comment="Free-text notes")
    assert list(table.to_dict()) == ["engine", "collation", "comment", "columns", "indexes", "foreign_keys"]
    assert Table.from_dict(table.to_dict(), name="notes") == table
    assert "comment" not in dataclasses.replace(table, comment="").to_dict()


def test_the_reference_lists_the_applications_column_comments():
    phase_b = tables_from_dict(read_yaml("phase_b_schema.yaml"))
    comments = {(t.name, c.name): c.comment for t in phase_b.values() for c in t.columns if c.comment}
    assert len(comments) == 43
    assert comments[("notification_configurations", "configurable_type")] == (
        "Polymorphic type: App\\Models\\Company, App\\Models\\Branch, App\\Models\\Service, App\\Models\\Staff"
    )
    assert comments[("callback_requests", "preferred_time_window")] == 'JSON: {"start": "2025-10-02 09:00", "end": "2025-10-02 17:00"}'


def test_a_comment_difference_is_reported_and_changes_the_fingerprint():
    expected = tables_from_dict(read_yaml("phase_b_schema.yaml"))
    requests = expected["callback_requests"]
    status = requests.column("status")
    assert status is not None and status.comment == "Current status of callback request"

    def with_status(comment: str, table_comment: str = ""):
        columns = tuple(dataclasses.replace(c, comment=comment) if c.name == "status" else c for c in requests.columns)
        return {**expected, "callback_requests": dataclasses.replace(requests, columns=columns, comment=table_comment)}

    changed = with_status("Lifecycle state")
    assert diff_tables(expected, changed) == [
        "table callback_requests: column status: comment is 'Lifecycle state', expected 'Current status of callback request'"
    ]
    assert diff_tables(expected, with_status("")) == [
        "table callback_requests: column status: comment is none, expected 'Current status of callback request'"
    ]
    assert diff_tables(expected, with_status(status.comment, "Callback queue")) == [
        "table callback_requests: comment is 'Callback queue', expected none"
    ]
    fingerprints = {fingerprint(tables) for tables in (expected, changed, with_status(""), with_status(status.comment, "Callback queue"))}
    assert len(fingerprints) == 4
    assert fingerprint(with_status(status.comment)) == fingerprint(expected)


# --------------------------------------------------------------------------- other differences
def test_differences_name_the_table_the_item_and_the_attribute():
    expected = tables_from_dict(read_yaml("phase_b_schema.yaml"))
    mods = expected["appointment_modifications"]
    columns = list(mods.columns)
    reason = next(i for i, c in enumerate(columns) if c.name == "reason")
    columns[reason] = dataclasses.replace(columns[reason], nullable=False, default="none given")
    columns.append(Column("extra_note", "varchar(20)", True))
    fks = tuple(dataclasses.replace(fk, on_delete="RESTRICT") if fk.name == "appointment_modifications_customer_id_foreign" else fk for fk in mods.foreign_keys)
    indexes = tuple(i for i in mods.indexes if i.name != "idx_fee_analysis") + (Index("idx_reason", True, ("reason(20)",)),)
    actual = {
        **{name: table for name, table in expected.items() if name != "callback_escalations"},
        "appointment_modifications": dataclasses.replace(
            mods, columns=tuple(columns), indexes=indexes, foreign_keys=fks, engine="MyISAM", checks=(CheckConstraint("fee_positive", "`fee_charged` >= 0"),)
        ),
        "audit_log": Table("audit_log", "InnoDB", "utf8mb4_unicode_ci"),
    }
    assert diff_tables(expected, actual) == [
        "table callback_escalations: missing",
        "table audit_log: unexpected (not in the expected schema)",
        "table appointment_modifications: engine is 'MyISAM', expected 'InnoDB'",
        "table appointment_modifications: column extra_note: unexpected",
        "table appointment_modifications: column reason: default is 'none given', expected none",
        "table appointment_modifications: column reason: nullable is False, expected True",
        "table appointment_modifications: index idx_fee_analysis: missing",
        "table appointment_modifications: index idx_reason: unexpected",
        "table appointment_modifications: foreign key appointment_modifications_customer_id_foreign: on_delete is 'RESTRICT', expected 'CASCADE'",
        "table appointment_modifications: check fee_positive: unexpected",
    ]
    swapped = list(mods.columns)
    swapped[1], swapped[2] = swapped[2], swapped[1]
    assert diff_tables(expected, {**expected, "appointment_modifications": dataclasses.replace(mods, columns=tuple(swapped))}) == [
        f"table appointment_modifications: column order is {[c.name for c in swapped]}, expected {list(mods.column_names)}"
    ]
    assert diff_tables(expected, tables_from_dict(read_yaml("phase_b_schema.yaml"))) == []


# --------------------------------------------------------------------------- what the model answers
def test_key_parts_column_names_and_row_identity():
    assert Index("slug", True, ("company_id", "slug(20)")).column_names == ("company_id", "slug")
    assert not Index("slug", True, ("company_id", "slug(20)")).whole_columns
    assert Index("expr", True, (None,)).column_names == ("",) and not Index("expr", True, (None,)).whole_columns
    columns = (Column("id", "bigint unsigned", False, extra="auto_increment"), Column("code", "varchar(20)", False), Column("alias", "varchar(20)", True))
    with_pk = Table("t", "InnoDB", None, columns, (Index("PRIMARY", True, ("id",)), Index("code", True, ("code",))))
    assert with_pk.row_identity() == ("id",) and with_pk.primary_key is not None and with_pk.column("id").auto_increment
    no_pk = Table("t", "InnoDB", None, columns, (Index("alias", True, ("alias",)), Index("code_prefix", True, ("code(5)",)), Index("code", True, ("code",))))
    assert no_pk.row_identity() == ("code",)  # the nullable and the prefix keys cannot identify a row
    assert Table("t", "InnoDB", None, columns, (Index("alias", True, ("alias",)),)).row_identity() == ()


def test_foreign_key_and_check_round_trip():
    fk = ForeignKey("child_parent_foreign", ("parent_id",), "parents", ("id",), "SET NULL", "RESTRICT")
    assert ForeignKey.from_dict(fk.to_dict()) == fk
    check = CheckConstraint("positive", "`amount` > 0")
    assert CheckConstraint.from_dict(check.to_dict()) == check
    table = Table("t", "InnoDB", "utf8mb4_unicode_ci", (Column("amount", "int", False),), checks=(check,))
    assert table.to_dict()["checks"] == [{"name": "positive", "clause": "`amount` > 0"}]
    assert Table.from_dict(table.to_dict(), name="t") == table


# --------------------------------------------------------------------------- malformed structures
def _broken(change):
    data = read_yaml("phase_b_schema.yaml")
    change(data["callback_requests"])
    return data


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda t: t["columns"][0].update(nullable="no"), "callback_requests.columns[0].nullable: must be true or false, found a string"),
        (
            lambda t: t["columns"][1].update(nulable=True),
            "callback_requests.columns[1].nulable: unknown key; use one of name, type, nullable, default, extra, comment",
        ),
        (lambda t: t["columns"][2].pop("type"), "callback_requests.columns[2].type: missing; add it"),
        (lambda t: t["columns"][9].update(default=1), "callback_requests.columns[9].default: must be a string, found a number; quote it"),
        (lambda t: t["columns"][6].update(comment=42), "callback_requests.columns[6].comment: must be a non-empty string, found a number; quote it"),
        (lambda t: t["foreign_keys"][0].update(on_delete="CASCADES"), "callback_requests.foreign_keys[0].on_delete: 'CASCADES' is not a foreign key rule"),
        (lambda t: t["foreign_keys"][0].update(ref_columns=["id", "company_id"]), "callback_requests.foreign_keys[0]: 1 columns reference 2 ref_columns"),
        (lambda t: t["indexes"][0].update(columns=[]), "callback_requests.indexes[0].columns: must be a non-empty list of names, found a list"),
        (lambda t: t["indexes"][0].update(columns=["company_id", 3]), "callback_requests.indexes[0].columns[1]: must be a name, found a number"),
        (lambda t: t["columns"].append(dict(t["columns"][0])), "callback_requests.columns: id is listed twice; remove one"),
        (lambda t: t.update(columns={"id": "bigint"}), "callback_requests.columns: must be a list, found a mapping"),
        (lambda t: t.pop("foreign_keys"), "callback_requests.foreign_keys: missing; add it"),
        (
            lambda t: t.update(comments="x"),
            "callback_requests.comments: unknown key; use one of engine, collation, columns, indexes, foreign_keys, comment, checks",
        ),
    ],
    ids=["bool-as-string", "unknown-key", "missing-key", "default-number", "comment-number", "fk-rule", "fk-widths", "empty-index",
         "index-part", "duplicate-column", "columns-mapping", "missing-list", "table-unknown-key"],
)
def test_a_malformed_structure_is_one_line_naming_the_source_and_the_key(change, expected):
    with pytest.raises(SchemagateError) as failure:
        tables_from_dict(_broken(change), "phase_b_schema.yaml")
    assert failure.value.message.startswith(f"phase_b_schema.yaml: {expected}"), failure.value.message
    assert "\n" not in failure.value.message


def test_a_malformed_structure_file_is_named_with_its_key_by_the_expectations_loader(tmp_path):
    shutil.copy(os.path.join(EXPECTATIONS, "phase_b.yaml"), tmp_path)
    data = _broken(lambda t: t["columns"][3].update(nullable="sometimes"))
    (tmp_path / "phase_b_schema.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(SchemagateError) as failure:
        load_expectations(str(tmp_path / "phase_b.yaml"))
    assert failure.value.message == (
        f"{tmp_path / 'phase_b_schema.yaml'}: callback_requests.columns[3].nullable: must be true or false, found a string"
    )


def test_the_expectations_loader_gives_the_typed_structure():
    expectations = load_expectations(os.path.join(EXPECTATIONS, "phase_b.yaml"))
    assert all(isinstance(table, Table) for table in expectations.structure.values())
    assert tables_to_dict(expectations.structure) == read_yaml("phase_b_schema.yaml")


def test_a_schema_needs_its_tables():
    with pytest.raises(SchemagateError, match=r"^expected_structure\.tables: missing; add it$"):
        Schema.from_dict({"views": {}}, "expected_structure")
    with pytest.raises(SchemagateError, match=r"^expected_structure\.views: must map names to their definitions"):
        Schema.from_dict({"tables": {}, "views": ["v"]}, "expected_structure")
    with pytest.raises(SchemagateError, match=r"^expected_structure: tables\.t\.engine: missing; add it$"):
        Schema.from_dict({"tables": {"t": {"collation": None, "columns": [], "indexes": [], "foreign_keys": []}}}, "expected_structure")
