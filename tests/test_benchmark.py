"""The gate's query benchmark: plans and figures on the real server, verdicts and parsing in isolation.

Nothing here asserts a latency: timings depend on the machine. What is asserted is
that each query's plan uses the index its annotation names, that the figures are
consistent, and that the pure verdicts say the right thing about given numbers.
"""
from __future__ import annotations

import os

import pytest
from helpers import REPO

from benchmarks.gate_queries import seed_phase_b
from plugins.module_utils.gate.benchmark import (
    ExpectedIndex,
    load_benchmarks,
    percentile,
    plan_concerns,
    plan_verdict,
    run_benchmarks,
    table_aliases,
    threshold_verdict,
    timing_figures,
)
from plugins.module_utils.core.dialect import ExplainLine, normalize_explain_row
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.sandbox.sample_data import SampleScale, seed_base_data

BENCHMARK_FILE = os.path.join(REPO, "sql", "performance_benchmarks.sql")
# Ten companies, so that company-scoped indexes are selective as in production
# (SampleScale.scaled(0.05) would leave a single company).
TEST_SCALE = SampleScale(companies=10, branches=50, staff=200, services=50, customers=2500, appointments=10000)
RUNS = 5
# Phase B tables with a single-column idx_company that composite company-led indexes make redundant.
COMPANY_INDEXED = ("policy_configurations", "callback_requests", "appointment_modifications", "callback_escalations",
                   "appointment_modification_stats")


@pytest.fixture
def seeded(database, runner_for, connection_to):
    """A connection to a scratch database with the Phase B schema and a few thousand rows per table."""
    runner_for(database).migrate()
    conn = connection_to(database)
    seed_base_data(conn, TEST_SCALE)
    counts = seed_phase_b(conn, modifications=6000, callbacks=5000)
    assert counts["appointment_modifications"] >= 5000 and counts["callback_requests"] >= 4500
    assert min(counts.values()) > 0
    return conn


def benchmark(seeded, server, database, path=BENCHMARK_FILE):
    return run_benchmarks(seeded, server, database, path, warmup=1, runs=RUNS)


def assert_figures(results, names):
    assert [r.name for r in results] == names
    for result in results:
        f = result.figures
        assert result.group == "benchmark"
        assert f["runs"] == RUNS and f["warmup"] == 1
        assert 0 < f["p50_ms"] <= f["p95_ms"] <= f["p99_ms"] <= f["max_ms"], result.name
        assert f["rows_returned"] > 0, f"{result.name} looked up nothing: {f['params']}"
        assert f["plan"] and all({"table", "type", "key", "rows"} <= set(line) for line in f["plan"])
        assert f["analyzed_tables"], result.name


def drop_indexes(conn, table_indexes):
    with conn.cursor() as cur:
        for table, index in table_indexes:
            cur.execute(f"ALTER TABLE `{table}` DROP INDEX `{index}`")


# --------------------------------------------------------------------------
# Against the server
# --------------------------------------------------------------------------

def test_plans_use_their_indexes_once_the_redundant_company_indexes_are_gone(seeded, server, database):
    drop_indexes(seeded, [(table, "idx_company") for table in COMPANY_INDEXED])
    results = benchmark(seeded, server, database)
    assert_figures(results, [b.name for b in load_benchmarks(BENCHMARK_FILE)])
    wrong = {r.name: r.message for r in results if not r.figures["plan_ok"]}
    assert not wrong


def test_on_the_phase_b_schema_only_index_merges_with_idx_company_miss_their_index(seeded, server, database):
    """The shipped schema as it is: every plan is right except where MariaDB intersects a single-column
    index with the redundant idx_company (it assumes the columns independent, so it underestimates
    the rows and reads all of the company's index entries instead)."""
    results = benchmark(seeded, server, database)
    assert_figures(results, [b.name for b in load_benchmarks(BENCHMARK_FILE)])
    for result in results:
        if result.figures["plan_ok"]:
            continue
        merges = [line for line in result.figures["plan"] if line["type"] == "index_merge"]
        assert merges and all("idx_company" in line["key"].split(",") for line in merges), result.message
        assert "expected index" in result.message


def test_dropping_the_rolling_window_index_fails_its_benchmark(seeded, server, database):
    drop_indexes(seeded, [("appointment_modifications", "idx_customer_mods_rolling")])
    results = {r.name: r for r in benchmark(seeded, server, database)}
    rolling = results["customer_modifications_30d"]
    assert not rolling.passed and not rolling.figures["plan_ok"]
    assert "expected index appointment_modifications.idx_customer_mods_rolling (it does not exist)" in rolling.message
    assert "the optimizer chose" in rolling.message
    assert results["callback_queue_sla"].figures["plan_ok"]  # the others are unaffected


def test_params_without_a_row_and_failing_queries_fail_their_check_only(seeded, server, database, tmp_path):
    path = tmp_path / "bench.sql"
    path.write_text(
        "-- benchmark: nothing_to_look_up\n"
        "-- description: params find no row\n"
        "-- threshold_ms: 50\n"
        "-- uses_index: callback_requests.idx_status_priority_expires\n"
        "-- params: SELECT company_id FROM callback_requests WHERE 1 = 0\n"
        "SELECT id FROM callback_requests WHERE company_id = %(company_id)s AND status = 'pending';\n"
        "\n"
        "-- benchmark: broken_query\n"
        "-- description: refers to a column that does not exist\n"
        "-- threshold_ms: 50\n"
        "-- uses_index: callback_requests.idx_status_priority_expires\n"
        "SELECT no_such_column FROM callback_requests WHERE company_id = 1;\n"
        "\n"
        "-- benchmark: fine\n"
        "-- description: still measured\n"
        "-- threshold_ms: 50\n"
        "-- uses_index: callback_requests.idx_status_priority_expires\n"
        "SELECT id FROM callback_requests WHERE company_id = 1 AND status = 'pending';\n",
        encoding="utf-8",
    )
    nothing, broken, fine = benchmark(seeded, server, database, str(path))
    assert not nothing.passed and "params query (line 5) returned no row" in nothing.message
    assert not broken.passed and broken.message.startswith("query failed: (1054)")
    assert fine.figures["runs"] == RUNS and fine.figures["plan_ok"]


def test_params_columns_must_match_the_placeholders(seeded, server, database, tmp_path):
    path = tmp_path / "bench.sql"
    path.write_text(
        "-- benchmark: mismatch\n"
        "-- description: the params column has another name\n"
        "-- threshold_ms: 50\n"
        "-- uses_index: callback_requests.idx_status_priority_expires\n"
        "-- params: SELECT 1 AS company\n"
        "SELECT id FROM callback_requests WHERE company_id = %(company_id)s;\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemagateError) as caught:
        benchmark(seeded, server, database, str(path))
    assert f"{path}: line 5:" in str(caught.value) and "\n" not in str(caught.value)


# --------------------------------------------------------------------------
# Pure verdicts
# --------------------------------------------------------------------------

def test_percentile_is_nearest_rank():
    samples = [float(v) for v in range(20, 0, -1)]  # 20 .. 1, unsorted on purpose
    assert percentile(samples, 50) == 10.0
    assert percentile(samples, 95) == 19.0
    assert percentile(samples, 99) == 20.0
    assert percentile(samples, 100) == 20.0
    assert percentile([7.5], 95) == 7.5
    with pytest.raises(ValueError):
        percentile([], 95)


def test_timing_figures_are_ordered():
    figures = timing_figures([1.0] * 28 + [5.0, 9.0])
    assert figures == {"p50_ms": 1.0, "p95_ms": 5.0, "p99_ms": 9.0, "max_ms": 9.0, "mean_ms": 1.4}


def test_threshold_verdict():
    samples = [12.0] * 18 + [61.2, 80.0]  # the 19th of 20 is the p95
    assert threshold_verdict(percentile(samples, 95), 50) == "p95 61.2 ms > 50 ms threshold"
    assert threshold_verdict(50.0, 50) is None
    assert threshold_verdict(3.2, 7.5) is None
    assert threshold_verdict(50.04, 50) == "p95 50.040 ms > 50 ms threshold"  # rounding must not hide the excess


def test_plan_verdict():
    rolling = [ExpectedIndex("appointment_modifications", ("idx_customer_mods_rolling",))]
    aliases = {"appointment_modifications": "appointment_modifications", "m": "appointment_modifications"}
    good = [ExplainLine("m", "range", "idx_customer_mods_rolling", 3)]
    assert plan_verdict(good, rolling, aliases, 1000) == []

    other = [ExplainLine("m", "ref", "appointment_modifications_customer_id_foreign", 4)]
    assert plan_verdict(other, rolling, aliases, 1000, {"appointment_modifications": {"PRIMARY"}}) == [
        "expected index appointment_modifications.idx_customer_mods_rolling (it does not exist), "
        "the optimizer chose appointment_modifications_customer_id_foreign (ref, ~4 rows)"
    ]

    # A merge that includes the expected index uses it; the extra index is a concern, not a failure.
    merged = [ExplainLine("m", "index_merge", "idx_customer_mods_rolling,idx_company", 1)]
    assert plan_verdict(merged, rolling, aliases, 1000) == []
    assert plan_concerns(merged, rolling, aliases) == [
        "appointment_modifications: index_merge also reads idx_company besides the expected index "
        "(idx_customer_mods_rolling,idx_company, ~1 rows)"
    ]
    either = [ExpectedIndex("appointment_modifications", ("idx_customer_mods_rolling", "idx_company"))]
    assert plan_concerns(merged, either, aliases) == []
    unrelated = [ExplainLine("m", "index_merge", "appointment_modifications_customer_id_foreign,idx_company", 1)]
    assert "the optimizer chose appointment_modifications_customer_id_foreign,idx_company" in plan_verdict(unrelated, rolling, aliases, 1000)[0]

    scan = [ExplainLine("m", "ALL", None, 120000)]
    assert plan_verdict(scan, [], aliases, 1000) == ["full scan of appointment_modifications (~120000 rows > 1000)"]
    assert plan_verdict([ExplainLine("m", "ALL", None, 900)], [], aliases, 1000) == []


def test_explain_rows_are_normalised():
    mariadb_filter = {"table": "cr", "type": "ref|filter", "key": "idx_a|idx_b", "rows": "1000 (5%)", "Extra": ""}
    assert normalize_explain_row(mariadb_filter) == ExplainLine("cr", "ref", "idx_a", 1000)
    mysql = {"TABLE": "t", "TYPE": "ALL", "KEY": None, "ROWS": 42, "filtered": 10.0, "partitions": None}
    assert normalize_explain_row(mysql) == ExplainLine("t", "ALL", None, 42)
    assert normalize_explain_row({"table": None, "type": None, "key": None, "rows": None}) == ExplainLine(None, None, None, None)


def test_table_aliases():
    sql = ("SELECT e.id FROM callback_escalations AS e JOIN callback_requests cr ON cr.id = e.callback_request_id "
           "LEFT JOIN `customers` AS `c` ON c.id = cr.customer_id WHERE e.note <> 'FROM fake x' ORDER BY e.id")
    assert table_aliases(sql) == {
        "callback_escalations": "callback_escalations", "e": "callback_escalations",
        "callback_requests": "callback_requests", "cr": "callback_requests",
        "customers": "customers", "c": "customers",
    }
    assert table_aliases("SELECT id FROM callback_requests WHERE company_id = 1") == {"callback_requests": "callback_requests"}


# --------------------------------------------------------------------------
# The file format
# --------------------------------------------------------------------------

def test_the_shipped_file_parses():
    benchmarks = load_benchmarks(BENCHMARK_FILE)
    assert 10 <= len(benchmarks) <= 14
    assert all(b.threshold_ms > 0 and b.expected and b.description for b in benchmarks)
    by_name = {b.name: b for b in benchmarks}
    assert by_name["callback_queue_sla"].threshold_ms == 50
    assert by_name["customer_stats_lookup"].threshold_ms == 10
    assert by_name["customer_modifications_30d"].expected == (
        ExpectedIndex("appointment_modifications", ("idx_customer_mods_rolling",)),
    )


GOOD_HEAD = "-- benchmark: q\n-- description: d\n-- threshold_ms: 50\n-- uses_index: t.idx\n"


@pytest.mark.parametrize(
    "text, line, fix",
    [
        ("-- benchmark: q\n-- description: d\n-- threshold_ms: 50\n-- uses_index: t.idx\n-- owner: me\nSELECT 1 FROM t;\n",
         5, "unknown annotation key 'owner'"),
        ("-- benchmark: q\n-- description: d\n-- uses_index: t.idx\nSELECT 1 FROM t;\n", 1, "lacks 'threshold_ms:'"),
        ("-- benchmark: q\n-- description: d\n-- threshold_ms: fast\n-- uses_index: t.idx\nSELECT 1 FROM t;\n",
         3, "threshold_ms 'fast' is not a number"),
        ("-- benchmark: q\n-- description: d\n-- threshold_ms: -5\n-- uses_index: t.idx\nSELECT 1 FROM t;\n",
         3, "threshold_ms '-5' is not a number"),
        (GOOD_HEAD + "SELECT 1 FROM t;\n\nSELECT 2 FROM t;\n", 7, "query has no annotations"),
        (GOOD_HEAD + "SELECT 1 FROM t;\n-- a remark\nSELECT 2 FROM t;\n", 7, "query has no annotations"),
        (GOOD_HEAD + "\nSELECT 1 FROM t;\n", 6, "query has no annotations"),
        (GOOD_HEAD + "SELECT 1 FROM t;\n\n-- benchmark: orphan\n", 7, "is not directly above a query"),
        (GOOD_HEAD.replace("t.idx", "idx") + "SELECT 1 FROM t;\n", 4, "uses_index 'idx' is malformed"),
        (GOOD_HEAD + "UPDATE t SET a = 1;\n", 5, "not a read-only SELECT"),
        (GOOD_HEAD + "SELECT a FROM t FOR UPDATE;\n", 5, "not a read-only SELECT"),
        (GOOD_HEAD + "SELECT a FROM t WHERE a = %(a)s;\n", 5, "has no params"),
        (GOOD_HEAD + "SELECT 1 FROM t;\n" + GOOD_HEAD + "SELECT 2 FROM t;\n", 10, "already used"),
        (GOOD_HEAD + "-- params: DELETE FROM t\nSELECT a FROM t WHERE a = %(a)s;\n", 5, "not a read-only SELECT"),
        (GOOD_HEAD + "SELECT a FROM t WHERE b LIKE 'x%';\n", 5, "write a literal percent sign as %%"),
    ],
    ids=["unknown-key", "missing-threshold", "non-numeric-threshold", "negative-threshold", "no-annotations",
         "remark-only", "blank-line", "orphan-annotation", "bad-uses-index", "update", "for-update",
         "placeholder-without-params", "duplicate-name", "writing-params", "lone-percent"],
)
def test_malformed_files_give_one_line_naming_file_and_line(tmp_path, text, line, fix):
    path = tmp_path / "bench.sql"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemagateError) as caught:
        load_benchmarks(str(path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: line {line}: "), message
    assert fix in message


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(SchemagateError, match="Cannot read benchmark file .*missing.sql"):
        load_benchmarks(str(tmp_path / "missing.sql"))
