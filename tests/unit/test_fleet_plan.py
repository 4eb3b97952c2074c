"""Fleets: which host rehearses for which, and which embedded servers a batch starts (gate/fleet.py)."""
from __future__ import annotations

import pytest

from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.gate.fleet import (
    FleetMember, PendingMigration, ddl_class, migration_checksum, names_database, plan_fleet, plan_from_dicts)

PENDING = (PendingMigration("m1", "c1"), PendingMigration("m2", "c2"))


def member(host, database=None, fingerprint="f", pending=PENDING, **extra):
    return FleetMember(host=host, database=database or f"db_{host}", fingerprint=fingerprint, pending=pending, **extra)


def by_host(plan):
    return {h.host: h for h in plan.hosts}


def test_hosts_with_equal_fingerprint_and_pending_set_share_the_first_hosts_rehearsal():
    plan = plan_fleet([member(f"t{i:02}") for i in range(1, 21)])
    hosts = by_host(plan)
    assert plan.groups == 1 and sum(h.rehearses for h in plan.hosts) == 1
    assert {h.representative for h in plan.hosts} == {"t01"}
    assert hosts["t01"].rehearses and not hosts["t07"].rehearses
    assert [s.as_dict() for s in plan.embedded_servers] == [
        {"key": "embedded@controller#0", "machine": "controller", "slot": 0, "provider": "t01", "hosts": ["t01"],
         "keep": False}]


def test_one_extra_column_is_another_fingerprint_and_its_own_rehearsal():
    plan = plan_fleet([member("a"), member("b", fingerprint="f+extra"), member("c")])
    hosts = by_host(plan)
    assert hosts["b"].representative == "b" and hosts["c"].representative == "a"
    assert plan.groups == 2 and hosts["a"].group != hosts["b"].group
    # different database names: both copies fit on one server
    assert [s.hosts for s in plan.embedded_servers] == [("a", "b")]


@pytest.mark.parametrize("other", [
    (PendingMigration("m1", "c1"),),  # one migration fewer
    (PendingMigration("m1", "c1"), PendingMigration("m2", "changed")),  # an edited file
    (PendingMigration("m1", "c1"), PendingMigration("m3", "c2")),  # another migration
])
def test_a_different_pending_set_or_checksum_is_its_own_rehearsal(other):
    hosts = by_host(plan_fleet([member("a"), member("b", pending=other)]))
    assert hosts["b"].rehearses


def test_different_settings_are_their_own_rehearsal():
    hosts = by_host(plan_fleet([member("a", context="x"), member("b", context="y"), member("c", context="x")]))
    assert hosts["b"].rehearses and hosts["c"].representative == "a"


def test_the_name_counts_only_when_a_pending_migration_names_the_database():
    plain = by_host(plan_fleet([member("a"), member("b")]))
    assert plain["b"].representative == "a"
    naming = (PendingMigration("m1", "c1", names_database=True),)
    named = by_host(plan_fleet([member("a", pending=naming), member("b", pending=naming)]))
    assert named["b"].rehearses


def test_same_database_name_takes_the_next_slot_and_a_server_of_its_own():
    plan = plan_fleet([member("a", database="app"), member("b", database="app", fingerprint="g"),
                       member("c", database="app", fingerprint="h"), member("d", database="other", fingerprint="z"),
                       member("e", database="app", fingerprint="g")])
    hosts = by_host(plan)
    assert [hosts[h].slot for h in "abcd"] == [0, 1, 2, 0]
    assert hosts["e"].representative == "b" and hosts["e"].slot == 1  # reuses b's verdict, starts nothing
    assert [(s.slot, s.provider, s.hosts) for s in plan.embedded_servers] == [
        (0, "a", ("a", "d")), (1, "b", ("b",)), (2, "c", ("c",))]


def test_embedded_servers_are_per_machine():
    plan = plan_fleet([member("a", machine="controller"), member("b", machine="db2", fingerprint="g")])
    assert [(s.machine, s.provider) for s in plan.embedded_servers] == [("controller", "a"), ("db2", "b")]


def test_same_name_on_one_staging_server_is_a_collision_and_starts_nothing():
    staging = "server:staging:3306:/var/lib/mysql/"
    plan = plan_fleet([member("a", database="app", server=staging), member("b", database="app", fingerprint="g", server=staging),
                       member("c", database="app", fingerprint="g", server="server:other:3306:/data/")])
    hosts = by_host(plan)
    assert hosts["a"].collision == "" and hosts["b"].collision == "a" and hosts["c"].collision == ""
    assert plan.embedded_servers == ()


def test_on_productions_own_server_copies_have_names_of_their_own():
    server = "production_server:db1:3306:/var/lib/mysql/"
    hosts = by_host(plan_fleet([member("a", database="app", server=server),
                                member("b", database="app", fingerprint="g", server=server)]))
    assert hosts["b"].collision == ""


def test_every_sharing_host_gets_an_rh106_finding():
    plan = plan_fleet([member("a"), member("b"), member("c", fingerprint="g")])
    reused, rehearsed, alone = plan.check("b"), plan.check("a"), plan.check("c")
    assert reused.code == "RH106" and reused.passed and reused.effective_severity.value == "info"
    assert reused.message == "verdict reused from a: same fingerprint and pending set"
    assert rehearsed.figures["hosts"] == ["a", "b"] and "2 hosts" in rehearsed.message
    assert alone is None


def test_dicts_in_and_out_as_the_filter_uses_them():
    plan = plan_from_dicts([
        {"host": "a", "database": "t1", "fingerprint": "f", "pending": [{"name": "m1", "checksum": "c1"}]},
        {"host": "b", "database": "t2", "fingerprint": "f", "pending": [{"name": "m1", "checksum": "c1"}]},
    ])
    assert plan["hosts"]["b"]["reused"] and plan["hosts"]["b"]["representative"] == "a"
    assert plan["rehearsals"] == 1 and plan["groups"] == 1
    assert plan["hosts"]["b"]["checks"][0]["code"] == "RH106" and plan["hosts"]["a"]["checks"][0]["code"] == "RH106"


@pytest.mark.parametrize("bad, message", [
    ({"host": "a", "database": "t", "fingerprint": "f"}, "lacks pending"),
    ({"host": "a", "database": "", "fingerprint": "f", "pending": []}, "lacks database"),
    ({"host": "a", "database": "t", "fingerprint": "f", "pending": "m1"}, "must be a list"),
    ({"host": "a", "database": "t", "fingerprint": "f", "pending": [{"name": "m1"}]}, "needs a name and a checksum"),
    ("a", "each host is a mapping"),
])
def test_bad_input_is_one_clear_line(bad, message):
    with pytest.raises(SchemagateError, match=message):
        plan_from_dicts([bad])


def test_a_host_listed_twice_is_refused():
    with pytest.raises(SchemagateError, match="listed twice"):
        plan_fleet([member("a"), member("a")])


def test_ddl_context_is_the_size_class_not_the_figures():
    def ddl(rows):
        return {"altered_tables": ["t"], "threshold_rows": 1000, "threshold_bytes": 1 << 30,
                "production": {"tables": {"t": {"rows": rows, "has_rows": True, "data_bytes": 10, "index_bytes": 0,
                                                "row_format": "dynamic"}}, "variables": {"alter_algorithm": "DEFAULT"}}}

    assert ddl_class(ddl(10)) == ddl_class(ddl(900)) != ddl_class(ddl(5000))
    plan = plan_from_dicts([{"host": h, "database": h, "fingerprint": "f", "pending": [], "ddl": ddl(rows)}
                            for h, rows in (("a", 10), ("b", 900), ("c", 5000))])
    assert plan["hosts"]["b"]["representative"] == "a" and plan["hosts"]["c"]["rehearses"]


def test_checksums_cover_the_down_and_names_are_matched_as_identifiers():
    assert migration_checksum("up", ["DROP TABLE t"]) != migration_checksum("up", ["DROP TABLE u"])
    assert migration_checksum("up", None) != migration_checksum("up", [])
    assert names_database(["USE `tenant_01`;"], "tenant_01")
    assert names_database(["UPDATE Tenant_01.companies SET x = 1"], "tenant_01")
    assert not names_database(["CREATE TABLE tenant_01_log (id INT)"], "tenant_01")
    assert not names_database(["SELECT 1"], "tenant_01")


def test_server_wide_statements_and_isolate_get_an_embedded_server_of_their_own():
    wide = (PendingMigration("m1", "c1", server_wide=True),)
    plan = plan_fleet([member("a"), member("b", fingerprint="g", pending=wide), member("c", fingerprint="h", isolated=True),
                       member("d", fingerprint="g", pending=wide)])
    hosts = by_host(plan)
    assert hosts["d"].representative == "b"  # equal rehearsals are still shared
    assert [s.hosts for s in plan.embedded_servers] == [("a",), ("b",), ("c",)]
    assert all(h.slot == 0 for h in plan.hosts)


@pytest.mark.parametrize("sql, wide", [
    ("CREATE USER 'x'@'%' IDENTIFIED BY 'y'", True),
    ("GRANT SELECT ON *.* TO 'x'@'%'", True),
    ("-- a comment\nDROP DATABASE `t01`", True),
    ("SET GLOBAL innodb_lock_wait_timeout = 5", True),
    ("CREATE TABLE users (id INT PRIMARY KEY)", False),
    ("ALTER TABLE grants ADD COLUMN x INT", False),
    ("INSERT INTO t VALUES ('GRANT ALL')", False),
])
def test_server_wide_statements_are_recognised(sql, wide):
    from plugins.module_utils.gate.fleet import server_wide

    assert server_wide([sql]) is wide


def test_a_kept_rehearsal_has_a_server_of_its_own_which_stays():
    plan = plan_fleet([member("a"), member("b", fingerprint="g", keep=True), member("c", fingerprint="h")])
    assert [(s.hosts, s.keep) for s in plan.embedded_servers] == [(("a", "c"), False), (("b",), True)]
