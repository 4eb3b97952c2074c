"""The gate's referential-integrity check, proven against seeded Phase B data on the real server."""
from __future__ import annotations

import pytest

from plugins.module_utils.core.checks import failures
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.gate.integrity import check_integrity
from plugins.module_utils.sandbox.sample_data import SampleScale, seed_base_data

# Small but complete: three companies, so a foreign key has several parents to try.
BASE_SCALE = SampleScale(companies=3, branches=6, staff=12, services=6, customers=60, appointments=120)

# Rows for the six Phase B tables, built from the seeded base rows so every foreign key has children.
PHASE_B_SEED = (
    # Two notification settings per company.
    """INSERT INTO notification_configurations (company_id, configurable_type, configurable_id, event_type, channel, created_at)
       SELECT c.id, 'company', c.id, e.event_type, 'email', '2025-06-01 00:00:00'
       FROM companies c CROSS JOIN (SELECT 'booking_confirmed' AS event_type UNION ALL SELECT 'reminder_24h') e
       ORDER BY c.id, e.event_type""",
    # Per company: an active cancellation policy, a soft-deleted older version of it (the same entity,
    # deleted_at set: the only rows whose unique key is fully non-NULL) ...
    """INSERT INTO policy_configurations (company_id, configurable_type, configurable_id, policy_type, config, deleted_at)
       SELECT c.id, 'company', c.id, 'cancellation', JSON_OBJECT('hours', v.hours), v.deleted_at
       FROM companies c CROSS JOIN (SELECT 24 AS hours, NULL AS deleted_at UNION ALL SELECT 48, '2025-01-01 00:00:00') v
       ORDER BY c.id, v.hours""",
    # ... and a branch override pointing at the active policy (the self-referencing SET NULL key).
    """INSERT INTO policy_configurations (company_id, configurable_type, configurable_id, policy_type, config, is_override,
                                          overrides_id)
       SELECT p.company_id, 'branch', b.id, 'cancellation', JSON_OBJECT('hours', 12), 1, p.id
       FROM policy_configurations p JOIN branches b ON b.company_id = p.company_id
       WHERE p.deleted_at IS NULL ORDER BY b.id""",
    # Two callback requests per branch, with customer, service, staff and assignee of the branch's company.
    """INSERT INTO callback_requests (company_id, customer_id, branch_id, service_id, staff_id, phone_number, customer_name,
                                     assigned_to, expires_at, created_at)
       SELECT b.company_id,
              (SELECT MIN(cu.id) FROM customers cu WHERE cu.company_id = b.company_id), b.id,
              (SELECT MIN(s.id) FROM services s WHERE s.company_id = b.company_id),
              (SELECT MIN(st.id) FROM staff st WHERE st.company_id = b.company_id),
              CONCAT('+49 30 5550', n.k), CONCAT('Caller ', n.k),
              (SELECT MAX(st.id) FROM staff st WHERE st.company_id = b.company_id),
              '2025-07-01 00:00:00', '2025-06-01 00:00:00'
       FROM branches b CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2) n ORDER BY b.id, n.k""",
    # Escalations only for the requests of each company's first branch: other branches stay free of them.
    """INSERT INTO callback_escalations (company_id, callback_request_id, escalation_reason, escalated_from, escalated_to,
                                        escalated_at)
       SELECT cr.company_id, cr.id, 'sla_breach', cr.staff_id, cr.assigned_to, '2025-06-02 00:00:00'
       FROM callback_requests cr
       WHERE cr.branch_id IN (SELECT MIN(b.id) FROM branches b GROUP BY b.company_id) ORDER BY cr.id""",
    """INSERT INTO appointment_modifications (company_id, appointment_id, customer_id, modification_type, fee_charged,
                                             reason, created_at)
       SELECT a.company_id, a.id, a.customer_id, IF(MOD(a.id, 2) = 0, 'cancel', 'reschedule'), 0.00, 'seeded',
              '2025-06-01 00:00:00'
       FROM appointments a WHERE a.customer_id IS NOT NULL ORDER BY a.id LIMIT 20""",
    """INSERT INTO appointment_modification_stats (company_id, customer_id, stat_type, period_start, period_end, `count`,
                                                  calculated_at)
       SELECT m.company_id, m.customer_id, 'cancellation_count', '2025-05-01', '2025-05-31', COUNT(*), '2025-06-01 00:00:00'
       FROM appointment_modifications m GROUP BY m.company_id, m.customer_id ORDER BY m.company_id, m.customer_id""",
)

ESCALATION_FK = "callback_escalations_callback_request_id_foreign"
PHASE_B_FKS = 18  # declared by the six Phase B migrations
PHASE_B_UNIQUES = ("notif_config_unique_constraint", "unique_customer_stat_period", "unique_policy_per_entity")


def execute(conn, *statements):
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)


@pytest.fixture
def seeded(database, runner_for, connection_to):
    """The database with the Phase B tables and rows behind every foreign key; yields a connection to it."""
    runner_for(database).migrate()
    conn = connection_to(database)
    seed_base_data(conn, BASE_SCALE)
    execute(conn, *PHASE_B_SEED)
    return conn


def by_name(results):
    named = {r.name: r for r in results}
    assert len(named) == len(results), "check names must be unique"
    return named


def snapshot(conn, database):
    """Everything a probe could leave behind: rows (checksum, count), structure and AUTO_INCREMENT counters."""
    state = {}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' "
            "ORDER BY TABLE_NAME",
            (database,),
        )
        tables = [row[0] for row in cur.fetchall()]
        for table in tables:
            cur.execute(f"CHECKSUM TABLE `{database}`.`{table}`")
            checksum = cur.fetchone()[1]
            cur.execute(f"SELECT COUNT(*) FROM `{database}`.`{table}`")
            count = cur.fetchone()[0]
            cur.execute(f"SHOW CREATE TABLE `{database}`.`{table}`")
            state[table] = (checksum, count, cur.fetchone()[1])
    return state


def session_settings(conn):
    with conn.cursor() as cur:
        cur.execute(
            "SELECT @@SESSION.innodb_lock_wait_timeout, @@SESSION.lock_wait_timeout, @@SESSION.foreign_key_checks, "
            "@@SESSION.unique_checks, @@SESSION.time_zone, @@autocommit"
        )
        return cur.fetchone()


def test_every_check_passes_on_the_phase_b_tables(seeded, database, server):
    results = check_integrity(seeded, server, database)
    assert failures(results) == []
    assert {r.group for r in results} == {"integrity"}
    named = by_name(results)
    # One rule proof and one orphan count per foreign key (Phase B plus branches -> companies), one proof per unique key.
    assert sum(r.code == "IN101" for r in results) == PHASE_B_FKS + 1
    assert sum(r.code == "IN102" for r in results) == PHASE_B_FKS + 1
    assert {r.name for r in results if r.code == "IN103"} == {
        "unique branches.branches_company_id_slug_unique",
        "unique notification_configurations.notif_config_unique_constraint",
        "unique appointment_modification_stats.unique_customer_stat_period",
        "unique policy_configurations.unique_policy_per_entity",
    }

    cascade = named["fk callback_requests.callback_requests_branch_id_foreign ON DELETE CASCADE"]
    assert cascade.figures["children"] == 2 and cascade.figures["children_deleted"] == 2
    assert "deleted its 2 callback_requests rows" in cascade.message

    set_null = named["fk callback_requests.callback_requests_customer_id_foreign ON DELETE SET NULL"]
    assert set_null.figures["children_set_null"] == set_null.figures["children"] > 0
    assert "set (customer_id) to NULL" in set_null.message

    self_reference = named["fk policy_configurations.policy_configurations_overrides_id_foreign ON DELETE SET NULL"]
    assert self_reference.figures["children_set_null"] == 2  # each company's active policy has two branch overrides

    orphans = named["orphans callback_escalations.callback_escalations_callback_request_id_foreign"]
    assert orphans.figures == {"orphans": 0}

    unique = named["unique appointment_modification_stats.unique_customer_stat_period"]
    assert "rejected with error 1062" in unique.message and unique.warning == ""


def test_unique_key_with_nullable_deleted_at_warns_and_shows_the_bypass(seeded, database, server):
    named = by_name(check_integrity(seeded, server, database, tables=["policy_configurations"]))
    result = named["unique policy_configurations.unique_policy_per_entity"]
    assert result.passed, result.message
    assert "rejected with error 1062" in result.message  # soft-deleted rows (deleted_at set) do collide
    assert "rows with NULL in (deleted_at) are not protected" in result.warning
    assert "two policy_configurations rows with the same (company_id, configurable_type, configurable_id, policy_type)" in result.warning
    assert "NULL deleted_at were both accepted" in result.warning
    assert result.figures["null_duplicate_accepted"] is True
    assert all(name.split()[1].startswith("policy_configurations.") for name in named)  # only the table asked for


def test_the_database_and_the_session_are_left_exactly_as_found(seeded, database, server):
    execute(seeded, "SET SESSION foreign_key_checks = 0, innodb_lock_wait_timeout = 77, time_zone = '+03:00'")
    before, settings = snapshot(seeded, database), session_settings(seeded)
    results = check_integrity(seeded, server, database)
    assert failures(results) == []
    assert snapshot(seeded, database) == before  # rows, structure and AUTO_INCREMENT counters
    assert session_settings(seeded) == settings


def test_a_restrict_key_is_proven_blocking_and_blocks_cascades_that_reach_it(seeded, database, server):
    execute(
        seeded,
        f"ALTER TABLE callback_escalations DROP FOREIGN KEY {ESCALATION_FK}",
        f"ALTER TABLE callback_escalations ADD CONSTRAINT {ESCALATION_FK} FOREIGN KEY (callback_request_id) "
        "REFERENCES callback_requests (id) ON DELETE RESTRICT",
    )
    before = snapshot(seeded, database)
    named = by_name(check_integrity(seeded, server, database, tables=["callback_escalations", "callback_requests"]))
    assert snapshot(seeded, database) == before

    restrict = named[f"fk callback_escalations.{ESCALATION_FK} ON DELETE RESTRICT"]
    assert restrict.passed, restrict.message
    assert "refused with error 1451" in restrict.message
    assert restrict.figures["children"] == restrict.figures["children_untouched"] == 1

    # Deleting a branch cascades to its callback requests; the first branch's are escalated, so another one proves it.
    branch = named["fk callback_requests.callback_requests_branch_id_foreign ON DELETE CASCADE"]
    assert branch.passed, branch.message
    assert branch.figures["candidates_tried"] > 1
    assert any(f"blocked by callback_escalations.{ESCALATION_FK}" in line for line in branch.details)

    # Once every callback request is escalated, no branch can be deleted: the RESTRICT rule that blocks holds,
    # which is a pass (the schema keeps its promise), with a warning naming the key that stops the cascade.
    execute(
        seeded,
        "INSERT INTO callback_escalations (company_id, callback_request_id, escalation_reason, escalated_at) "
        "SELECT cr.company_id, cr.id, 'manual_escalation', '2025-06-03 00:00:00' FROM callback_requests cr "
        "WHERE NOT EXISTS (SELECT 1 FROM callback_escalations e WHERE e.callback_request_id = cr.id) ORDER BY cr.id",
    )
    named = by_name(check_integrity(seeded, server, database, tables=["callback_requests"]))
    branch = named["fk callback_requests.callback_requests_branch_id_foreign ON DELETE CASCADE"]
    assert branch.passed and branch.verdict == "pass"
    assert branch.message.startswith(f"every delete of a branches row is refused by the RESTRICT rule of callback_escalations.{ESCALATION_FK}")
    assert branch.warning == f"ON DELETE CASCADE not observed: callback_escalations.{ESCALATION_FK} restricts the delete first"


def test_an_orphan_loaded_without_key_checks_fails_the_orphan_check(seeded, database, server):
    execute(
        seeded,
        "SET SESSION foreign_key_checks = 0",
        "INSERT INTO callback_escalations (company_id, callback_request_id, escalation_reason, escalated_at) "
        "VALUES (1, 999999, 'manual_escalation', '2025-06-03 00:00:00')",
        "SET SESSION foreign_key_checks = 1",
    )
    results = check_integrity(seeded, server, database)
    failed = failures(results)
    assert [r.name for r in failed] == [f"orphans callback_escalations.{ESCALATION_FK}"]
    orphan = failed[0]
    assert orphan.figures == {"orphans": 1}
    assert f"{ESCALATION_FK}: 1 orphan row in callback_escalations" in orphan.message
    assert orphan.details == ["(callback_request_id)=(999999) has no parent row in callback_requests (id)"]


def test_a_dropped_unique_index_is_no_longer_listed_and_the_others_still_pass(seeded, database, server):
    execute(seeded, "ALTER TABLE notification_configurations DROP INDEX notif_config_unique_constraint")
    results = check_integrity(seeded, server, database)
    assert failures(results) == []
    uniques = {r.name for r in results if r.code == "IN103"}
    assert uniques == {
        "unique branches.branches_company_id_slug_unique",
        "unique appointment_modification_stats.unique_customer_stat_period",
        "unique policy_configurations.unique_policy_per_entity",
    }


def test_missing_seed_data_fails_with_what_to_seed(seeded, database, server):
    execute(seeded, "DELETE FROM callback_escalations", "DELETE FROM appointment_modification_stats")
    named = by_name(check_integrity(seeded, server, database, tables=["callback_escalations", "appointment_modification_stats"]))
    fk = named[f"fk callback_escalations.{ESCALATION_FK} ON DELETE CASCADE"]
    assert not fk.passed and fk.message.startswith("no parent row with children") and fk.message.endswith("seed more data")
    unique = named["unique appointment_modification_stats.unique_customer_stat_period"]
    assert not unique.passed and unique.message == "no seeded row to prove unique_customer_stat_period: seed more data"
    assert named[f"orphans callback_escalations.{ESCALATION_FK}"].passed


def test_tables_restricts_the_check_and_unknown_tables_are_refused(seeded, database, server):
    named = by_name(check_integrity(seeded, server, database, tables=["appointment_modification_stats"]))
    assert sorted(named) == [
        "fk appointment_modification_stats.appointment_modification_stats_company_id_foreign ON DELETE CASCADE",
        "fk appointment_modification_stats.appointment_modification_stats_customer_id_foreign ON DELETE CASCADE",
        "orphans appointment_modification_stats.appointment_modification_stats_company_id_foreign",
        "orphans appointment_modification_stats.appointment_modification_stats_customer_id_foreign",
        "unique appointment_modification_stats.unique_customer_stat_period",
    ]
    with pytest.raises(SchemagateError, match=r"No table no_such_table in database .*: check the tables option"):
        check_integrity(seeded, server, database, tables=["no_such_table"])


# Composite keys, and tables without a primary key (their children are followed by counting NULLs instead).
COMPOSITE_SCHEMA = (
    "CREATE TABLE region (country CHAR(2) NOT NULL, code INT NOT NULL, name VARCHAR(50) NULL, PRIMARY KEY (country, code))",
    "CREATE TABLE office (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, country CHAR(2) NULL, code INT NULL, "
    "label VARCHAR(20) NOT NULL, UNIQUE KEY office_label_unique (label), KEY office_region (country, code), "
    "CONSTRAINT office_region_foreign FOREIGN KEY (country, code) REFERENCES region (country, code) ON DELETE SET NULL)",
    "CREATE TABLE visit_log (country CHAR(2) NOT NULL, code INT NOT NULL, note VARCHAR(20) NULL, "
    "CONSTRAINT visit_log_region_foreign FOREIGN KEY (country, code) REFERENCES region (country, code) ON DELETE CASCADE)",
    "CREATE TABLE visit_note (country CHAR(2) NULL, code INT NULL, note VARCHAR(20) NULL, "
    "CONSTRAINT visit_note_region_foreign FOREIGN KEY (country, code) REFERENCES region (country, code) ON DELETE SET NULL)",
    "INSERT INTO region VALUES ('DE', 1, 'Berlin'), ('DE', 2, 'Hamburg'), ('AT', 1, 'Wien')",
    "INSERT INTO office (country, code, label) VALUES ('DE', 1, 'a'), ('DE', 1, 'b'), ('AT', 1, 'c'), (NULL, NULL, 'd')",
    "INSERT INTO visit_log VALUES ('DE', 1, 'x'), ('DE', 2, 'y'), ('DE', 2, 'z')",
    "INSERT INTO visit_note VALUES ('DE', 1, 'n1'), (NULL, NULL, 'n2')",
)


def test_composite_keys_and_tables_without_a_primary_key(database, connection_to, server):
    conn = connection_to(database)
    execute(conn, *COMPOSITE_SCHEMA)
    tables = ["office", "visit_log", "visit_note"]
    before = snapshot(conn, database)
    named = by_name(check_integrity(conn, server, database, tables=tables))
    assert snapshot(conn, database) == before
    assert failures(named.values()) == []

    office = named["fk office.office_region_foreign ON DELETE SET NULL"]
    assert office.message == "deleting region (country, code)=('AT', 1) set (country, code) to NULL on its 1 office row (rolled back)"
    log = named["fk visit_log.visit_log_region_foreign ON DELETE CASCADE"]
    assert log.message == "deleting region (country, code)=('DE', 1) deleted its 1 visit_log row (rolled back)"
    note = named["fk visit_note.visit_note_region_foreign ON DELETE SET NULL"]
    assert note.figures == {"children": 1, "children_set_null": 1, "candidates_tried": 1}
    assert named["unique office.office_label_unique"].passed

    execute(conn, "SET SESSION foreign_key_checks = 0", "INSERT INTO visit_log VALUES ('FR', 9, 'lost')", "SET SESSION foreign_key_checks = 1")
    orphan = by_name(check_integrity(conn, server, database, tables=tables))["orphans visit_log.visit_log_region_foreign"]
    assert not orphan.passed and orphan.figures == {"orphans": 1}
    assert orphan.details == ["(country, code)=('FR', 9) has no parent row in region (country, code)"]


def test_a_probe_behind_another_sessions_lock_fails_fast_instead_of_hanging(seeded, database, server, connection_to):
    holder = connection_to(database)
    execute(holder, "START TRANSACTION", "SELECT id FROM companies WHERE id = 1 FOR UPDATE")
    try:
        named = by_name(check_integrity(seeded, server, database, tables=["notification_configurations"], lock_wait_seconds=1))
    finally:
        execute(holder, "ROLLBACK")
    blocked = named["fk notification_configurations.notification_configurations_company_id_foreign ON DELETE CASCADE"]
    assert not blocked.passed
    assert blocked.message.startswith("a probe waited too long for a lock ((1205)")
    assert "rerun when it is idle" in blocked.message
    # Giving a row company 1's key needs a shared lock on that company too; the orphan count only reads a snapshot.
    assert named["unique notification_configurations.notif_config_unique_constraint"].message.startswith("a probe waited too long")
    assert named["orphans notification_configurations.notification_configurations_company_id_foreign"].passed
