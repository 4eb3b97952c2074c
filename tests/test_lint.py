"""The lint and the data probes against a real production-like database: every code, file and line.

One production database (base tables with sample rows) is shared by the module; each test writes
migrations of its own and lints them with ``lint_pending``, the function the gate's lint module runs.
Production was given rows that break the constraints the migrations add (duplicate emails, an
orphaned customer_id, an over-long status, a row using an ENUM value that is removed).
"""
from __future__ import annotations

import pytest

from helpers import create_production, drop_database

from plugins.module_utils.core.check_registry import Severity
from plugins.module_utils.gate.lint import LintSettings, lint_pending
from plugins.module_utils.migrate.migration_files import load_migrations

UP = "2025_12_01_000001_change"


@pytest.fixture(scope="module")
def prod(admin):
    name = create_production(admin)
    with admin.cursor() as cur:
        cur.execute(f"USE `{name}`")
        cur.execute("UPDATE customers SET email = 'twin@example.test' WHERE id IN (7, 8)")
        cur.execute("UPDATE appointments SET customer_id = 999999 WHERE id = 3")
        cur.execute("UPDATE appointments SET status = 'rescheduled-by-the-customer-twice' WHERE id = 4")
        cur.execute("ALTER TABLE appointments ADD COLUMN kind ENUM('visit','call','video') NOT NULL DEFAULT 'visit'")
        cur.execute("UPDATE appointments SET kind = 'video' WHERE id = 6")
        cur.execute("CREATE TABLE archive (id INT NOT NULL PRIMARY KEY, label VARCHAR(100) NOT NULL) ENGINE=InnoDB")
        cur.execute("UPDATE services SET name = 'Massage \u263a' WHERE id = 1")  # not a latin1 character
    yield name
    drop_database(admin, name)


def lint(connection_to, server, prod, tmp_path, *ups, **settings):
    """Lint the migrations whose up files are ``ups`` (in order); results by code."""
    folder = tmp_path / settings.pop("folder", "migrations")
    folder.mkdir(exist_ok=True)
    for number, up in enumerate(ups, start=1):
        name = f"2025_12_01_00000{number}_change"
        (folder / f"{name}.up.sql").write_text(up)
        (folder / f"{name}.down.sql").write_text("SELECT 1;\n")
    timeout = settings.pop("probe_timeout", 10.0)
    outcome = lint_pending(connection_to(prod), server, prod, load_migrations(str(folder)), LintSettings(server, **settings),
                           probe_timeout=timeout)
    by_code = {}
    for result in outcome.results:
        by_code.setdefault(result.code, []).append(result)
    return by_code, outcome


def at(results, line):
    found = [r for r in results if r.figures.get("line") == line]
    assert found, [(r.figures.get("line"), r.message) for r in results]
    return found[0]


def test_destructive_statements_on_preexisting_tables_block_with_file_and_line(connection_to, server, prod, tmp_path):
    by_code, outcome = lint(connection_to, server, prod, tmp_path, """\
DROP TABLE archive;
ALTER TABLE customers DROP COLUMN last_name, RENAME COLUMN first_name TO given_name;
ALTER TABLE staff CHANGE phone mobile VARCHAR(255) NULL;
RENAME TABLE services TO offerings;
TRUNCATE TABLE branches;
DELETE FROM appointments;
DELETE FROM appointments WHERE id = 1;
CREATE TABLE scratchpad (id INT PRIMARY KEY);
DROP TABLE scratchpad;
""")
    assert at(by_code["DS101"], 1).subject == "archive" and at(by_code["DS101"], 1).blocking
    assert [r.subject for r in by_code["DS101"]] == ["archive"]  # the table this deploy creates may go
    assert at(by_code["DS102"], 2).subject == "customers.last_name"
    renames = {r.subject for r in by_code["DS103"]}
    assert renames == {"customers.first_name", "staff.phone", "services"}
    assert {r.figures["line"] for r in by_code["DS104"]} == {5, 6}  # not the DELETE with a WHERE
    assert all(r.figures["file"].endswith(f"{UP}.up.sql") for code in ("DS101", "DS102", "DS104") for r in by_code[code])
    assert not [r for r in outcome.results if r.code == "LN102"]


def test_not_null_without_default_blocks_only_on_a_populated_table(connection_to, server, prod, tmp_path):
    by_code, _outcome = lint(connection_to, server, prod, tmp_path, """\
ALTER TABLE customers ADD COLUMN tier INT NOT NULL,
  ADD COLUMN score INT NOT NULL DEFAULT 0, ADD COLUMN id2 INT NULL;
ALTER TABLE archive ADD COLUMN tier INT NOT NULL;
ALTER TABLE customers MODIFY phone VARCHAR(255) NOT NULL;
""")
    subjects = {r.subject: r for r in by_code["MF101"]}
    assert set(subjects) == {"customers.tier", "customers.phone"}  # archive is empty; score has a DEFAULT
    assert "existing NULLs make the ALTER fail" in subjects["customers.phone"].message
    nulls = at(by_code["DP102"], 4)
    assert nulls.blocking and nulls.figures["count"] > 0 and "e.g. id=" in nulls.message


def test_narrowing_and_enum_changes_are_found_and_production_values_that_do_not_fit_counted(connection_to, server, prod, tmp_path):
    by_code, _outcome = lint(connection_to, server, prod, tmp_path, """\
ALTER TABLE appointments MODIFY status VARCHAR(20) NOT NULL DEFAULT 'pending';
ALTER TABLE appointments MODIFY kind ENUM('visit','call') NOT NULL DEFAULT 'visit';
ALTER TABLE customers MODIFY company_id BIGINT UNSIGNED NOT NULL, MODIFY email VARCHAR(255) CHARACTER SET latin1 NULL;
ALTER TABLE archive MODIFY label VARCHAR(10) NOT NULL;
""", """\
ALTER TABLE appointments MODIFY kind ENUM('call','visit') NOT NULL DEFAULT 'visit';
""", """\
ALTER TABLE appointments MODIFY kind ENUM('call','visit','chat') NOT NULL DEFAULT 'visit';
""")
    status = at(by_code["MF102"], 1)
    assert status.blocking and "varchar(255) -> varchar(20)" in status.message
    too_long = at(by_code["DP104"], 1)
    assert too_long.blocking and too_long.figures["count"] == 1
    assert "id=4, status='rescheduled-by-the-customer-twice'" in too_long.message
    charset = [r for r in by_code["MF102"] if r.subject == "customers.email"][0]
    assert "utf8mb4 -> latin1" in charset.message
    assert not [r for r in by_code["MF102"] if r.subject == "customers.company_id"]  # same type: nothing narrows
    empty = [r for r in by_code["MF102"] if r.subject == "archive.label"][0]
    assert empty.effective_severity is Severity.INFO and not empty.blocking  # nothing to lose in an empty table
    removed = [r for r in by_code["MF103"] if "removes video" in r.message]
    assert removed and removed[0].figures["migration"].endswith("000001_change")
    in_use = at(by_code["DP105"], 2)
    assert in_use.blocking and "1 row(s)" in in_use.message and "id=6" in in_use.message
    reordered = [r for r in by_code["MF103"] if r.figures["migration"].endswith("000002_change")]
    assert reordered and "reorders the kept values" in reordered[0].message
    assert not [r for r in by_code["MF103"] if r.figures["migration"].endswith("000003_change")]  # appending is fine


def test_a_table_converted_to_a_smaller_character_set_is_narrowing_and_its_lost_characters_found(
        connection_to, server, prod, tmp_path):
    by_code, _outcome = lint(connection_to, server, prod, tmp_path, """\
ALTER TABLE services CONVERT TO CHARACTER SET latin1 COLLATE latin1_swedish_ci;
""")
    (converted,) = by_code["MF102"]
    assert converted.blocking and "CONVERT TO CHARACTER SET latin1" in converted.message and "name" in converted.message
    (lost,) = [r for r in by_code["DP104"] if r.subject == "services.name"]
    assert lost.blocking and lost.figures["count"] == 1 and "id=1" in lost.message


def test_a_dropped_foreign_key_blocks_unless_the_migration_adds_it_back(connection_to, server, prod, tmp_path):
    dropped, _outcome = lint(connection_to, server, prod, tmp_path, """\
ALTER TABLE branches DROP FOREIGN KEY branches_company_id_foreign;
""", folder="dropped")
    replaced, _outcome = lint(connection_to, server, prod, tmp_path, """\
ALTER TABLE branches DROP FOREIGN KEY branches_company_id_foreign;
ALTER TABLE branches ADD CONSTRAINT branches_company_fk FOREIGN KEY (company_id) REFERENCES companies (id) ON DELETE CASCADE;
""", folder="replaced")
    (first,), (second,) = dropped["MF104"], replaced["MF104"]
    assert first.blocking and "rows that break it can be written" in first.message
    assert not second.blocking and "re-added by a later statement" in second.message


def test_data_probes_count_rows_that_break_a_new_key_foreign_key_or_check(connection_to, server, prod, tmp_path):
    by_code, _outcome = lint(connection_to, server, prod, tmp_path, """\
ALTER TABLE customers ADD UNIQUE KEY customers_email_unique (email);
ALTER TABLE appointments ADD CONSTRAINT appointments_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE appointments ADD CONSTRAINT appointments_not_five CHECK (id <> 5);
ALTER TABLE customers ADD UNIQUE KEY customers_id_company_unique (id, company_id);
CREATE UNIQUE INDEX staff_company_name_unique ON staff (company_id, id);
""")
    duplicates = at(by_code["DP101"], 1)
    assert duplicates.blocking and duplicates.figures["count"] == 1 and duplicates.figures["rows"] == 2
    assert "email='twin@example.test'" in duplicates.message
    orphans = at(by_code["DP103"], 2)
    assert orphans.blocking and orphans.figures["count"] == 1 and "customer_id=999999" in orphans.message
    assert orphans.figures["index"] == "PRIMARY"  # the parent's key answers NOT EXISTS
    violated = at(by_code["DP106"], 3)
    assert violated.blocking and "id=5" in violated.message
    assert at(by_code["DP101"], 4).passed and at(by_code["DP101"], 5).passed


def test_a_probe_that_times_out_is_a_warning_never_a_pass(connection_to, server, prod, tmp_path):
    # 500 customers x 10 ms of SLEEP cannot finish within 0.3 s: the limit, not the machine, decides.
    by_code, _outcome = lint(connection_to, server, prod, tmp_path, """\
ALTER TABLE customers ADD CONSTRAINT slow_check CHECK (SLEEP(0.01) = 0);
""", probe_timeout=0.3)
    probe = at(by_code["DP106"], 1)
    assert not probe.passed and probe.verdict == "warn" and "timed out after 0.3 s" in probe.message


def test_rerun_safety_and_data_migrations_inside_ddl_migrations(connection_to, server, prod, tmp_path):
    by_code, _outcome = lint(connection_to, server, prod, tmp_path, """\
CREATE TABLE labels (id INT PRIMARY KEY);
ALTER TABLE customers ADD COLUMN nickname VARCHAR(40) NULL;
UPDATE customers SET nickname = first_name WHERE nickname IS NULL;
""", """\
CREATE TABLE IF NOT EXISTS tags (id INT PRIMARY KEY);
ALTER TABLE customers ADD COLUMN IF NOT EXISTS motto VARCHAR(40) NULL;
INSERT INTO tags (id) VALUES (1), (2);
""", data_migration_rows=100)
    rerun = {(r.figures["migration"][-8:], r.figures["line"]) for r in by_code["MY101"]}
    assert rerun == {("1_change", 1), ("1_change", 2)}  # the idempotent second migration is safe
    assert all(not r.blocking and r.verdict == "warn" for r in by_code["MY101"])
    data = at(by_code["DM101"], 3)
    assert data.blocking and "~500 rows" in data.message  # above data_migration_rows=100
    assert len(by_code["DM101"]) == 1  # literal rows into a new table are not a data migration


def test_allow_annotations_turn_a_blocking_finding_into_an_allowed_one_and_their_mistakes_are_said(
        connection_to, server, prod, tmp_path):
    by_code, outcome = lint(connection_to, server, prod, tmp_path, """\
-- schemagate:allow DS102 the column moved to customer_profiles in release 41
ALTER TABLE customers DROP COLUMN last_name;
ALTER TABLE staff DROP COLUMN phone; -- schemagate:allow DS102 unused since 2024
-- schemagate:allow DS101 there is nothing to drop here
ALTER TABLE staff ADD COLUMN title VARCHAR(40) NULL;
-- schemagate:allow DS999 no such check
-- schemagate:allow DS101
-- schemagate:frobnicate please
ALTER TABLE staff ADD COLUMN room VARCHAR(40) NULL;
""")
    allowed = {r.subject: r for r in by_code["DS102"]}
    assert allowed["customers.last_name"].verdict == "waived" and not allowed["customers.last_name"].blocking
    assert allowed["customers.last_name"].figures["allowed"] == "the column moved to customer_profiles in release 41"
    assert allowed["customers.last_name"].waived.endswith("line 1: the column moved to customer_profiles in release 41")
    assert allowed["staff.phone"].verdict == "waived"  # a trailing annotation belongs to its own statement
    problems = {r.figures["line"]: r for r in by_code["LN103"]}
    assert problems[4].verdict == "warn" and "allows nothing" in problems[4].message
    assert problems[6].blocking and "no check has that code" in problems[6].message
    assert problems[7].blocking and "needs a reason" in problems[7].message
    assert problems[8].blocking and "unknown annotation" in problems[8].message
    assert outcome.altered_tables == ["customers", "staff"]


def test_what_the_linter_does_not_understand_is_said_not_guessed(connection_to, server, prod, tmp_path):
    by_code, outcome = lint(connection_to, server, prod, tmp_path, """\
CREATE VIEW active_customers AS SELECT id FROM customers WHERE deleted_at IS NULL;
ALTER TABLE customers ADD PERIOD FOR validity (created_at, updated_at);
HANDLER customers OPEN;
""")
    unknown = {r.figures["line"]: r for r in by_code["LN102"]}
    assert set(unknown) == {2, 3} and all(not r.blocking for r in unknown.values())
    assert "not linted" in unknown[3].message
    summary = by_code["LN101"][0]
    assert summary.passed and summary.figures["statements"] == 3
    assert outcome.production["tables"]["customers"]["rows"] > 0
