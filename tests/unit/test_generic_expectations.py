"""Generated expectations, the tables the migrations touched, and catalog rules scoped to them. No server."""
from __future__ import annotations

import os

import yaml

from plugins.module_utils.core.expectations import load_expectations
from plugins.module_utils.core.schema_model import tables_from_dict, tables_to_dict
from plugins.module_utils.gate.expectations_writer import starter_rules, write_expectations
from plugins.module_utils.gate.schema_verify import generic_checks, touched_tables

STRUCTURE = {
    "orgs": {
        "engine": "InnoDB", "collation": "utf8mb4_general_ci",
        "columns": [{"name": "id", "type": "bigint unsigned", "nullable": False, "extra": "auto_increment"}],
        "indexes": [{"name": "PRIMARY", "unique": True, "columns": ["id"]}],
        "foreign_keys": [],
    },
    "deals": {
        "engine": "InnoDB", "collation": "utf8mb4_general_ci",
        "columns": [
            {"name": "id", "type": "bigint unsigned", "nullable": False, "extra": "auto_increment"},
            {"name": "org_id", "type": "bigint unsigned", "nullable": False},
            {"name": "stage", "type": "enum('lead','won','it''s lost')", "nullable": False},
            {"name": "details", "type": "json", "nullable": True},
            {"name": "deleted_at", "type": "timestamp", "nullable": True},
        ],
        "indexes": [
            {"name": "PRIMARY", "unique": True, "columns": ["id"]},
            {"name": "deals_org_id_unique", "unique": True, "columns": ["org_id", "id"]},
        ],
        "foreign_keys": [{"name": "deals_org_fk", "columns": ["org_id"], "references": "orgs", "ref_columns": ["id"],
                          "on_delete": "CASCADE", "on_update": "RESTRICT"}],
    },
    "legacy": {
        "engine": "InnoDB", "collation": "latin1_swedish_ci",
        "columns": [{"name": "line", "type": "varchar(255)", "nullable": False}],
        "indexes": [],
        "foreign_keys": [],
    },
}


def tables():
    return tables_from_dict(STRUCTURE, "test")


def test_only_new_or_changed_tables_count_as_touched():
    everything = tables()
    baseline = tables_to_dict({name: everything[name] for name in ("orgs", "legacy")})
    assert touched_tables(everything, baseline) == ["deals"]
    baseline["orgs"]["columns"][0]["type"] = "int unsigned"
    assert touched_tables(everything, baseline) == ["deals", "orgs"]
    assert touched_tables(everything, None) == ["deals", "legacy", "orgs"]


def test_catalog_rules_block_on_touched_tables_and_describe_the_others():
    results = generic_checks(tables(), ["deals"])
    named = {r.name: r for r in results}
    assert named["every table has a primary key"].passed and named["one collation for all tables"].passed
    old_pk = named["every table has a primary key (pre-existing tables)"]
    old_collation = named["one collation for all tables (pre-existing tables)"]
    assert not old_pk.passed and not old_pk.blocking and old_pk.verdict == "warn" and "legacy" in old_pk.message
    assert not old_collation.blocking and "latin1_swedish_ci" in old_collation.message
    assert not [r for r in results if r.blocking]


def test_starter_rules_name_what_the_migrated_tables_promise(tmp_path):
    rules = starter_rules(tables(), ["deals"], "app_schema.yaml", "org_id")
    assert rules["tenant"] == {"org_id": "orgs ON DELETE CASCADE"}
    deals = rules["tables"]["deals"]
    assert deals == {
        "unique": {"deals_org_id_unique": ["org_id", "id"]},
        "enums": {"stage": ["lead", "won", "it's lost"]},
        "json": ["details"],
        "soft_delete": "deleted_at",
    }
    assert "tenant" not in starter_rules(tables(), ["deals", "legacy"], "s.yaml", "org_id")  # legacy has no org_id


def test_written_files_load_and_the_rules_file_is_never_overwritten(tmp_path):
    structure, rules = str(tmp_path / "e" / "app_schema.yaml"), str(tmp_path / "e" / "app.yaml")
    written = write_expectations(tables(), ["deals"], structure, rules, "app", "org_id")
    assert written["rules_written"] and written["tables"] == ["deals"]
    loaded = load_expectations(rules)
    assert sorted(loaded.structure) == ["deals"] and loaded.tenant.column == "org_id"
    assert loaded.structure["deals"] == tables()["deals"]
    with open(rules, "a", encoding="utf-8") as handle:
        handle.write("# reviewed\n")
    again = write_expectations(tables(), ["deals"], structure, rules, "app")
    assert not again["rules_written"] and open(rules, encoding="utf-8").read().endswith("# reviewed\n")
    assert yaml.safe_load(open(structure, encoding="utf-8"))["deals"]["collation"] == "utf8mb4_general_ci"
    assert os.path.basename(loaded.structure_path) == "app_schema.yaml"
