"""One identifier policy: a name the server accepts is copied, seeded and probed like any other."""
from __future__ import annotations

import uuid

import pytest
from helpers import SCRATCH_PREFIX, drop_database

from plugins.module_utils.core.catalog import read_tables
from plugins.module_utils.core.connection import quote_identifier
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.scratch import drop_scratch
from plugins.module_utils.gate.clone import clone_schema
from plugins.module_utils.gate.integrity import check_integrity
from plugins.module_utils.gate.seeder import SeedPlan, seed_database

# Legal names a legacy application may well have: a dash, a space inside, a backtick, non-ASCII.
ODD_SCHEMA = (
    "CREATE TABLE `order-customers` (`id` INT PRIMARY KEY AUTO_INCREMENT, `full name` VARCHAR(50) NOT NULL)",
    "CREATE TABLE `order items` (`id` INT PRIMARY KEY AUTO_INCREMENT, `cust``id` INT NOT NULL, `prix-€` DECIMAL(8,2) NOT NULL,"
    " UNIQUE KEY `one-per-price` (`cust``id`, `prix-€`),"
    " CONSTRAINT `order items-cust` FOREIGN KEY (`cust``id`) REFERENCES `order-customers` (`id`) ON DELETE CASCADE)",
)


@pytest.fixture
def odd_database(admin):
    name = SCRATCH_PREFIX + uuid.uuid4().hex[:10]
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.execute(f"USE `{name}`")
        for statement in ODD_SCHEMA:
            cur.execute(statement)
    yield name
    drop_database(admin, name)


def test_quote_identifier_quotes_every_legal_name_and_refuses_only_impossible_ones():
    assert quote_identifier("cust`id") == "`cust``id`"
    assert quote_identifier("order items") == "`order items`"
    for impossible in ("", "x" * 65, "trailing ", "nul\0"):
        with pytest.raises(SchemagateError, match="an identifier has 1-64 characters"):
            quote_identifier(impossible)


def test_tables_and_columns_with_odd_names_are_copied_seeded_and_probed(admin, server, odd_database):
    copy = odd_database + "_c"
    report = clone_schema(admin, admin, server, odd_database, copy, "odd1", ())
    try:
        assert sorted(t for t in report.tables if not t.startswith("schemagate_")) == ["order items", "order-customers"]
        assert read_tables(admin, copy, server, only=["order items", "order-customers"]) == \
            read_tables(admin, odd_database, server, only=["order items", "order-customers"])
        seeded = seed_database(admin, server, copy, SeedPlan(default_rows=20), exclude=("schemagate_scratch",))
        assert seeded.rows["order items"] == 20 and seeded.rows["order-customers"] == 20
        results = check_integrity(admin, server, copy, ["order items"])
        assert [r.name for r in results if not r.passed] == []
        assert {r.code for r in results} == {"IN101", "IN102", "IN103"}
    finally:
        drop_scratch(admin, odd_database, copy, "odd1")
