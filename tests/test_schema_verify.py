"""The gate's verify step, against the real sandbox server: the shipped Phase B set passes,
and each way of breaking it fails exactly the checks that name the broken promise."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from typing import Dict, List

import pytest

from helpers import REPO, create_database, drop_database

from plugins.module_utils.core.catalog import read_tables
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.schema_model import Index
from plugins.module_utils.gate.schema_verify import generic_checks, parse_verify_sql, unindexed_foreign_keys, verify_schema

EXPECTATIONS = os.path.join(REPO, "expectations", "phase_b.yaml")
STRUCTURE = os.path.join(REPO, "expectations", "phase_b_schema.yaml")
VERIFY_SQL = os.path.join(REPO, "sql", "verify_migrations.sql")


@pytest.fixture
def migrated(database, runner_for) -> str:
    """A scratch database with the base tables and the six Phase B migrations applied."""
    runner_for(database).migrate()
    return database


@pytest.fixture
def verify(connection_to, server):
    """Run every verify check of a database on a connection of its own; returns name -> CheckResult."""

    def run(database: str, expectations: str = EXPECTATIONS, verify_sql: str = VERIFY_SQL) -> Dict:
        results = verify_schema(connection_to(database), server, database, expectations, verify_sql)
        names = [result.name for result in results]
        assert len(names) == len(set(names)), "check names must be unique"
        return {result.name: result for result in results}

    return run


def failed(results: Dict) -> Dict[str, List[str]]:
    return {name: result.details for name, result in results.items() if not result.passed}


def alter(admin, database: str, *statements: str) -> None:
    with admin.cursor() as cur:
        cur.execute(f"USE `{database}`")
        for statement in statements:
            cur.execute(statement)


def read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def one_line(exc: SchemagateError) -> str:
    assert "\n" not in exc.message and "Traceback" not in exc.message
    return exc.message


# --------------------------------------------------------------------------- the shipped set passes
def test_unmodified_phase_b_set_passes_every_check(migrated, verify):
    results = verify(migrated)
    assert failed(results) == {}
    assert all(result.group == "verify" and result.message for result in results.values())
    sql_names = [check.name for check in parse_verify_sql(read_text(VERIFY_SQL), VERIFY_SQL)]
    assert 15 <= len(sql_names) <= 25 and set(sql_names) <= set(results)
    kinds: Dict[str, int] = {}
    for name in set(results) - set(sql_names):
        kind = "soft delete" if name.startswith("soft delete ") else name.split(" ")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds == {
        "structure": 6, "tenant": 6, "fk": 12, "unique": 3, "index": 7, "enum": 8, "json": 6, "soft delete": 3, "polymorphic": 3, "every": 2, "one": 1,
    }
    for generic in ("every table has a primary key", "every foreign key is indexed", "one collation for all tables"):
        assert results[generic].passed
    # The soft-delete unique key passes, with the caveat a reviewer must read.
    assert "deleted_at" in results["unique policy_configurations.unique_policy_per_entity"].warning
    assert results["the six Phase B tables exist"].figures == {"rows": 1}


# --------------------------------------------------------------------------- broken schemas
def test_nullable_company_id(migrated, verify, admin):
    alter(admin, migrated, "ALTER TABLE callback_escalations MODIFY company_id BIGINT UNSIGNED NULL")
    problems = failed(verify(migrated))
    assert set(problems) == {
        "structure callback_escalations",
        "tenant callback_escalations.company_id",
        "no nullable company_id in the Phase B tables",
    }
    assert problems["structure callback_escalations"] == [
        "table callback_escalations: column company_id: nullable is True, expected False"
    ]
    assert problems["tenant callback_escalations.company_id"] == [
        "company_id is nullable: make it NOT NULL, a row without a tenant belongs to nobody"
    ]
    query_report, *rows = problems["no nullable company_id in the Phase B tables"]
    assert query_report.endswith("returned 1 rows, expected none") and rows == ["callback_escalations"]


def test_missing_critical_index(migrated, verify, admin):
    alter(admin, migrated, "DROP INDEX idx_customer_mods_rolling ON appointment_modifications")
    problems = failed(verify(migrated))
    assert set(problems) == {
        "structure appointment_modifications",
        "index appointment_modifications.idx_customer_mods_rolling",
        "indexes per Phase B table (the primary key included)",
        "the critical query indexes, with their columns in order",
    }
    assert problems["structure appointment_modifications"] == ["table appointment_modifications: index idx_customer_mods_rolling: missing"]
    assert problems["index appointment_modifications.idx_customer_mods_rolling"] == [
        "index idx_customer_mods_rolling is missing: add it on (company_id, customer_id, modification_type, created_at)"
    ]
    assert problems["indexes per Phase B table (the primary key included)"][1:] == [
        "row missing: appointment_modifications: 9",
        "row not expected: appointment_modifications: 8",
    ]
    assert problems["the critical query indexes, with their columns in order"][1:] == [
        "row missing: appointment_modifications.idx_customer_mods_rolling (company_id,customer_id,modification_type,created_at)"
    ]


def test_wrong_on_delete_rule(migrated, verify, admin):
    alter(
        admin,
        migrated,
        "ALTER TABLE callback_requests DROP FOREIGN KEY callback_requests_customer_id_foreign",
        "ALTER TABLE callback_requests ADD CONSTRAINT callback_requests_customer_id_foreign "
        "FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE",
    )
    problems = failed(verify(migrated))
    assert set(problems) == {
        "structure callback_requests",
        "fk callback_requests.customer_id",
        "ON DELETE rule of every foreign key other than company_id",
    }
    assert problems["structure callback_requests"] == [
        "table callback_requests: foreign key callback_requests_customer_id_foreign: on_delete is 'CASCADE', expected 'SET NULL'"
    ]
    assert problems["fk callback_requests.customer_id"] == [
        "foreign key callback_requests_customer_id_foreign is ON DELETE CASCADE, expected ON DELETE SET NULL"
    ]
    assert problems["ON DELETE rule of every foreign key other than company_id"][1:] == [
        "row missing: callback_requests.customer_id -> customers SET NULL",
        "row not expected: callback_requests.customer_id -> customers CASCADE",
    ]


def test_enum_value_removed(migrated, verify, admin):
    alter(
        admin,
        migrated,
        "ALTER TABLE callback_requests MODIFY status "
        "ENUM('pending','assigned','contacted','completed','expired') NOT NULL DEFAULT 'pending' "
        "COMMENT 'Current status of callback request'",  # MODIFY restates the whole column, its comment included
    )
    problems = failed(verify(migrated))
    assert set(problems) == {"structure callback_requests", "enum callback_requests.status", "ENUM columns and their values"}
    assert problems["structure callback_requests"] == [
        "table callback_requests: column status: type is "
        "\"enum('pending','assigned','contacted','completed','expired')\", "
        "expected \"enum('pending','assigned','contacted','completed','expired','cancelled')\""
    ]
    assert problems["enum callback_requests.status"] == ["value 'cancelled' is missing: existing rows or the application may use it"]
    assert problems["ENUM columns and their values"][1:] == [
        "row missing: callback_requests.status enum('pending','assigned','contacted','completed','expired','cancelled')",
        "row not expected: callback_requests.status enum('pending','assigned','contacted','completed','expired')",
    ]


def test_table_without_primary_key_fails_the_generic_check(migrated, verify, admin):
    alter(admin, migrated, "CREATE TABLE audit_notes (note VARCHAR(100) NOT NULL) ENGINE=InnoDB")
    problems = failed(verify(migrated))
    assert problems == {
        "every table has a primary key": ["audit_notes: no PRIMARY KEY; add one (replication and online DDL need it)"]
    }


def test_table_with_another_collation_is_named(migrated, verify, admin):
    alter(admin, migrated, "CREATE TABLE legacy_notes (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB CHARACTER SET latin1 COLLATE latin1_swedish_ci")
    problems = failed(verify(migrated))
    assert problems == {
        "one collation for all tables": [
            "legacy_notes: latin1_swedish_ci (the other tables use utf8mb4_unicode_ci): "
            "convert it so joins and comparisons need no conversion"
        ]
    }


def test_foreign_key_must_lead_an_index(migrated, admin, server):
    # InnoDB creates an index for an unindexed foreign key itself, so the rule is exercised on the catalog data.
    tables = read_tables(admin, migrated, server)
    assert unindexed_foreign_keys(tables) == []
    requests = tables["callback_requests"]
    indexes = tuple(index for index in requests.indexes if index.name != "callback_requests_branch_id_index")
    # branch_id second in an index does not help a lookup by branch_id alone.
    indexes += (Index("idx_company_branch", False, ("company_id", "branch_id")),)
    broken = {**tables, "callback_requests": dataclasses.replace(requests, indexes=indexes)}
    offender = "callback_requests.callback_requests_branch_id_foreign (branch_id): no index starts with these columns"
    assert unindexed_foreign_keys(broken) == [offender]
    result = next(r for r in generic_checks(broken) if r.name == "every foreign key is indexed")
    assert not result.passed and result.details == [offender]
    indexes += (Index("idx_branch_status", False, ("branch_id", "status")),)
    broken["callback_requests"] = dataclasses.replace(requests, indexes=indexes)
    assert unindexed_foreign_keys(broken) == []


def test_a_failing_query_is_a_failed_check_not_an_error(migrated, verify, tmp_path):
    sql = tmp_path / "verify.sql"
    sql.write_text("-- check: reads a column that does not exist\n-- expect: 0\nSELECT no_such_column FROM companies;\n")
    results = verify(migrated, verify_sql=str(sql))
    result = results["reads a column that does not exist"]
    assert not result.passed
    assert len(result.details) == 1
    assert result.details[0].startswith("query at verify.sql line 3 failed: (1054) Unknown column 'no_such_column'")


def test_queries_run_in_the_verified_database_and_restore_the_current_one(migrated, admin, server, connection_to):
    other = create_database(admin, with_base_tables=False)
    try:
        conn = connection_to(other)
        results = verify_schema(conn, server, migrated, EXPECTATIONS, VERIFY_SQL)
        assert all(result.passed for result in results)
        with conn.cursor() as cur:
            cur.execute("SELECT DATABASE()")
            assert cur.fetchone()[0] == other
    finally:
        drop_database(admin, other)


# --------------------------------------------------------------------------- bad input
GOOD_EXPECTATIONS = read_text(EXPECTATIONS)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("structure: phase_b_schema.yaml\ntables: [oops\n", r"expectations\.yaml: line 3: invalid YAML .*fix the syntax"),
        ("- a list\n", r"expectations\.yaml: must be a mapping with the keys structure, tenant, tables, waivers, found a list"),
        (GOOD_EXPECTATIONS.replace("structure:", "structur:"), r"expectations\.yaml: structur: unknown key; use one of structure, tenant, tables"),
        (GOOD_EXPECTATIONS.replace("\ntables:", "\nrules:"), r"expectations\.yaml: rules: unknown key"),
        ("structure: phase_b_schema.yaml\n", r"expectations\.yaml: tables: missing; add it"),
        (
            "structure: nowhere.yaml\ntables: {callback_requests: {}}\n",
            r"expectations\.yaml: structure: cannot read .*nowhere\.yaml \(No such file or directory\); name a file relative to this one",
        ),
        (
            GOOD_EXPECTATIONS.replace("status: [pending, assigned, contacted, completed, expired, cancelled]", "status: pending"),
            r"expectations\.yaml: tables\.callback_requests\.enums\.status: must be a non-empty list of strings, found a string",
        ),
        (
            GOOD_EXPECTATIONS.replace("priority: [normal, high, urgent]", "priority: [on, off]"),
            r"tables\.callback_requests\.enums\.priority\[0\]: must be a non-empty string, found a boolean; quote it",
        ),
        (
            GOOD_EXPECTATIONS.replace("customer_id: customers ON DELETE SET NULL", "customer_id: customers SET NULL"),
            r"tables\.callback_requests\.foreign_keys\.customer_id: 'customers SET NULL' is not a foreign key rule; write '<table> ON DELETE",
        ),
        (GOOD_EXPECTATIONS.replace("    json: [preferred_time_window", "    jsn: [preferred_time_window"), r"tables\.callback_requests\.jsn: unknown key"),
        (
            GOOD_EXPECTATIONS.replace("soft_delete: deleted_at", "soft_delete: [deleted_at]"),
            r"tables\.policy_configurations\.soft_delete: must be a non-empty string",
        ),
    ],
    ids=["bad-yaml", "not-a-mapping", "unknown-key", "renamed-key", "missing-key", "missing-structure", "wrong-type",
         "yaml-boolean", "bad-fk-rule", "unknown-table-key", "soft-delete-list"],
)
def test_malformed_expectations_file_is_one_line(database, verify, tmp_path, text, expected):
    shutil.copy(STRUCTURE, tmp_path)
    path = tmp_path / "expectations.yaml"
    path.write_text(text)
    with pytest.raises(SchemagateError, match=expected) as failure:
        verify(database, expectations=str(path))
    assert one_line(failure.value).startswith(f"{path}:") or str(path) in failure.value.message


def test_missing_expectations_file(database, verify, tmp_path):
    with pytest.raises(SchemagateError, match=r"Cannot read the expectations file .*nothing\.yaml: No such file or directory; check the path") as failure:
        verify(database, expectations=str(tmp_path / "nothing.yaml"))
    one_line(failure.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("-- expect: 1\nSELECT 1;\n", r"verify\.sql: line 2: query has no '-- check: <name>' comment right above it; add one"),
        ("-- check: one\nSELECT 1;\n", r"verify\.sql: line 2: query has no '-- expect' comment right above it"),
        ("-- check: one\n-- expect row: 1\nSELECT 1;\n", r"verify\.sql: line 2: unknown expectation 'expect row: 1'; use expect: <value>"),
        ("-- check: one\n-- expect rows: many\nSELECT 1;\n", r"verify\.sql: line 2: unknown expectation 'expect rows: many'"),
        ("-- check: one\n-- expect rows:\nSELECT 1;\n", r"verify\.sql: line 3: 'expect rows:' lists no rows"),
        ("-- check: one\n-- expect: 1\n-- check: two\nSELECT 1;\n", r"verify\.sql: line 3: a second 'check:' before the query at line 4"),
        ("-- check: one\n-- expect: 1\nSELECT 1;\n\n-- check: two\n-- expect: 1\n", r"verify\.sql: line 5: annotation with no query right below it"),
        (
            "-- check: one\n-- expect: 1\nSELECT 1;\n-- check: one\n-- expect: 1\nSELECT 2;\n",
            r"verify\.sql: line 6: check name 'one' is already used at line 3",
        ),
        ("-- check: wipe\n-- expect: empty\nDELETE FROM companies;\n", r"verify\.sql: line 3: only SELECT, WITH and SHOW queries may verify a schema"),
        ("-- check: one\n-- expect: 1\nSELECT 'oops;\n", r"verify\.sql: line 3: unterminated ' quote"),
    ],
    ids=["no-check", "no-expect", "unknown-form", "bad-count", "empty-row-list", "two-checks", "orphan", "duplicate-name",
         "not-read-only", "unterminated-quote"],
)
def test_malformed_verify_sql_names_file_and_line(migrated, verify, tmp_path, admin, text, expected):
    path = tmp_path / "verify.sql"
    path.write_text(text)
    with pytest.raises(SchemagateError, match=expected) as failure:
        verify(migrated, verify_sql=str(path))
    assert one_line(failure.value).startswith(str(path))
    with admin.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{migrated}`.companies")
        assert cur.fetchone()[0] == 0  # a refused file never ran


def test_annotation_grammar():
    text = (
        "/* header: check: and expect: here are prose */\n"
        "-- section title\n\n"
        "-- check: a value\n-- expect: 6\nSELECT 6;\n"
        "-- check: nothing\n-- expect: EMPTY\nSELECT 1 FROM DUAL WHERE 1 = 0;\n"
        "-- check: a count\n-- expect rows: 2\nSELECT 1 UNION ALL SELECT 2;\n"
        "-- check: listed rows\n-- expect rows:\n--   - b\n--   - a\nSELECT 'a' UNION ALL SELECT 'b';\n"
    )
    checks = parse_verify_sql(text, "inline.sql")
    assert [(c.name, c.line, c.expect, c.values) for c in checks] == [
        ("a value", 6, "value", ("6",)),
        ("nothing", 9, "empty", ()),
        ("a count", 12, "count", ("2",)),
        ("listed rows", 17, "rows", ("b", "a")),
    ]


# --------------------------------------------------------------------------- the module
def run_module(tmp_path, sandbox_cfg, **args) -> subprocess.CompletedProcess:
    """Run plugins/modules/schema_verify.py as Ansible does, with the checkout as the collection."""
    collections = tmp_path / "collections" / "ansible_collections" / "schemagate"
    collections.mkdir(parents=True)
    os.symlink(REPO, collections / "mysql")
    module_args = dict(config_file=sandbox_cfg.admin_cnf, login_unix_socket=sandbox_cfg.socket, **args)
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "collections"))
    command = [sys.executable, "-m", "ansible_collections.schemagate.mysql.plugins.modules.schema_verify", str(args_file)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_module_reports_failed_checks_without_failing(migrated, sandbox_cfg, admin, tmp_path):
    alter(admin, migrated, "DROP INDEX idx_customer_mods_rolling ON appointment_modifications")
    result = run_module(tmp_path, sandbox_cfg, database=migrated, expectations_file=EXPECTATIONS, verify_sql_file=VERIFY_SQL)
    assert result.returncode == 0, result.stdout + result.stderr
    output = json.loads(result.stdout)
    assert output["changed"] is False and output["passed"] is False and not output.get("failed")
    assert output["server"]["flavor"] in ("mariadb", "mysql")
    failing = sorted(check["name"] for check in output["checks"] if not check["passed"])
    assert "index appointment_modifications.idx_customer_mods_rolling" in failing and len(failing) == 4
    assert output["summary"].startswith("4 of ")


def test_module_fails_on_bad_input_with_one_line(database, sandbox_cfg, tmp_path):
    result = run_module(tmp_path, sandbox_cfg, database=database, expectations_file=str(tmp_path / "missing.yaml"))
    output = json.loads(result.stdout)
    assert output["failed"] is True and "Cannot read the expectations file" in output["msg"] and "\n" not in output["msg"]
