"""The sandbox's production-like data: the advertised volume, FK-consistent, deterministic."""
from __future__ import annotations

import pytest
from helpers import PRODUCTION_DB, create_database, drop_database

from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.sandbox.sample_data import SampleScale, seed_base_data

# Every reference the application relies on, as (child, column, parent): same company included.
REFERENCES = [
    ("branches", "company_id", "companies"),
    ("staff", "company_id", "companies"),
    ("services", "company_id", "companies"),
    ("customers", "company_id", "companies"),
    ("appointments", "company_id", "companies"),
]
SAME_COMPANY = [
    ("appointments", "customer_id", "customers"),
    ("appointments", "service_id", "services"),
    ("appointments", "staff_id", "staff"),
    ("appointments", "branch_id", "branches"),
]


def scalar(admin, sql, args=None):
    with admin.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


def test_production_has_the_default_volume(admin):
    expected = {"companies": 20, "branches": 200, "staff": 1000, "services": 200, "customers": 50000, "appointments": 200000}
    counts = {t: scalar(admin, f"SELECT COUNT(*) FROM `{PRODUCTION_DB}`.`{t}`") for t in expected}
    assert counts == expected


def test_production_data_has_no_orphans_and_stays_within_a_company(admin):
    for child, column, parent in REFERENCES + SAME_COMPANY:
        orphans = scalar(
            admin,
            f"SELECT COUNT(*) FROM `{PRODUCTION_DB}`.`{child}` c LEFT JOIN `{PRODUCTION_DB}`.`{parent}` p "
            f"ON p.id = c.{column} WHERE c.{column} IS NOT NULL AND p.id IS NULL",
        )
        assert orphans == 0, f"{child}.{column} -> {parent}"
    for child, column, parent in SAME_COMPANY:
        crossing = scalar(
            admin,
            f"SELECT COUNT(*) FROM `{PRODUCTION_DB}`.`{child}` c JOIN `{PRODUCTION_DB}`.`{parent}` p "
            f"ON p.id = c.{column} WHERE p.company_id <> c.company_id",
        )
        assert crossing == 0, f"{child}.{column} points into another company"


def test_same_scale_gives_identical_tables(admin):
    scale = SampleScale.scaled(0.02)
    checksums = []
    for _attempt in range(2):
        name = create_database(admin)
        try:
            with admin.cursor() as cur:
                cur.execute(f"USE `{name}`")
            report = seed_base_data(admin, scale)
            assert report.total_rows == sum(report.rows.values()) > 0
            with admin.cursor() as cur:
                cur.execute("CHECKSUM TABLE companies, branches, staff, services, customers, appointments")
                checksums.append([row[1] for row in cur.fetchall()])
        finally:
            drop_database(admin, name)
    assert checksums[0] == checksums[1]


def test_seeding_refuses_a_table_that_already_has_rows(admin):
    name = create_database(admin)
    try:
        with admin.cursor() as cur:
            cur.execute(f"USE `{name}`")
            cur.execute("INSERT INTO companies (name) VALUES ('existing')")
        with pytest.raises(SchemagateError, match="companies"):
            seed_base_data(admin, SampleScale.scaled(0.01))
    finally:
        drop_database(admin, name)
