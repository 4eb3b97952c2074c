"""Benchmark: the gate's query benchmark on a realistically seeded scratch database.

Run: .venv/bin/python benchmarks/gate_queries.py [--scale 1.0] [--modifications 120000] [--callbacks 110000] [--runs 50]
Creates askproai_db_sg_bench_<random> on the running sandbox (./run sandbox start), loads the
base tables with the sandbox's sample data, applies the six Phase B migrations, fills the
Phase B tables server-side (INSERT ... SELECT), runs sql/performance_benchmarks.sql through
run_benchmarks and prints one line per query; the scratch database is dropped afterwards.
Exit status 1 when a query misses its threshold or its index.

seed_phase_b() is also what tests/test_benchmark.py seeds with, at a smaller scale.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from typing import Any, Dict, List, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import BASE_SCHEMA_SQL, REPO, sandbox_config  # noqa: E402

from plugins.module_utils.sandbox import sandbox  # noqa: E402
from plugins.module_utils.gate.benchmark import run_benchmarks  # noqa: E402
from plugins.module_utils.core.checks import CheckResult  # noqa: E402
from plugins.module_utils.core.connection import connect  # noqa: E402
from plugins.module_utils.core.dialect import detect_server  # noqa: E402
from plugins.module_utils.core.errors import SchemagateError  # noqa: E402
from plugins.module_utils.migrate.migration_files import load_migrations  # noqa: E402
from plugins.module_utils.migrate.runner import MigrationRunner, RunnerSettings  # noqa: E402
from plugins.module_utils.sandbox.sample_data import ANCHOR, SampleScale, seed_base_data  # noqa: E402
from plugins.module_utils.core.sql_script import split_statements  # noqa: E402

BENCHMARK_FILE = os.path.join(REPO, "sql", "performance_benchmarks.sql")
SCRATCH_PREFIX = "askproai_db_sg_bench_"
PHASE_B_TABLES = (
    "notification_configurations",
    "policy_configurations",
    "callback_requests",
    "callback_escalations",
    "appointment_modifications",
    "appointment_modification_stats",
)

# Same hashing idea as sample_data: (seed + 1) * odd constant mod 2^32, scaled onto
# [0, count); each attribute has its own multiplier so attributes do not correlate.
_MULTIPLIERS = (2654435761, 2246822519, 3266489917, 668265263, 374761393, 3432918353, 461845907, 2246822507,
                3266489909, 1640531527, 2869860233, 1779033703, 3144134277, 1013904242)
_PER_MILLION = 1000000
_EVENTS = ("appointment.created", "appointment.confirmed", "appointment.reminder", "appointment.cancelled",
           "appointment.rescheduled", "callback.requested", "callback.escalated", "policy.fee_charged")
_CHANNELS = ("email", "sms", "whatsapp", "push")
# Helper table of the scratch database (not TEMPORARY: MySQL cannot open a temporary table twice in one query).
_STAFF_PICK = "_sg_bench_staff_pick"


def _pick(seed: str, count: int, salt: int) -> str:
    """Pseudo-random integer in [0, count) from integer expression ``seed``, deterministic."""
    return f"(MOD(({seed} + 1) * {_MULTIPLIERS[salt]}, 4294967296) * {count} DIV 4294967296)"


def _weighted(seed: str, mix: Sequence[Tuple[str, int]], salt: int) -> str:
    """One of the values of ``(value, percent)`` pairs (percents add up to 100)."""
    buckets = [value for value, weight in mix for _unused in range(weight)]
    return f"ELT(1 + {_pick(seed, len(buckets), salt)}, {', '.join(repr(b) for b in buckets)})"


def _model(name: str) -> str:
    """Laravel morph class 'App\\Models\\<name>' as SQL, whatever NO_BACKSLASH_ESCAPES says."""
    backslash = "CHAR(92 USING utf8mb4)"
    return f"CONCAT('App', {backslash}, 'Models', {backslash}, '{name}')"


def _numbered(column: str, values: Sequence[str]) -> str:
    """Derived table with ``n`` (0-based position) and ``column`` holding ``values``."""
    return "(" + " UNION ALL ".join(f"SELECT {n} AS n, '{v}' AS {column}" for n, v in enumerate(values)) + ")"


def _rate(wanted: int, available: int) -> int:
    """Per-million share of ``available`` candidate rows to keep so that about ``wanted`` remain."""
    return min(_PER_MILLION, -(-wanted * _PER_MILLION // max(1, available)))


def _phase_b_sql(conn: Any, modifications: int, callbacks: int) -> List[Tuple[str, str]]:
    """(table, statement) pairs filling the Phase B tables, parents first."""
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM appointments WHERE customer_id IS NOT NULL AND branch_id IS NOT NULL")
        appointments = int(cur.fetchone()[0])
    # A modified appointment has a second modification one time in five.
    first_rate = _rate(modifications * 5 // 6, appointments)
    copies = max(1, -(-callbacks // max(1, appointments)))
    callback_rate = _rate(callbacks, appointments * copies)
    anchor = f"TIMESTAMP '{ANCHOR}'"
    events, channels = _numbered("event_type", _EVENTS), _numbered("channel", _CHANNELS)
    sql: List[Tuple[str, str]] = []

    notification_columns = """INSERT INTO notification_configurations (company_id, configurable_type, configurable_id,
  event_type, channel, fallback_channel, is_enabled, retry_count, retry_delay_minutes, template_override, metadata,
  created_at, updated_at)"""
    sql.append(("notification_configurations", f"""{notification_columns}
SELECT c.id, {_model('Company')}, c.id, e.event_type, ch.channel, IF(ch.channel = 'email', 'none', 'email'),
       {_pick('c.id * 32 + e.n * 4 + ch.n', 100, 0)} < 80, 3, 5, NULL, JSON_OBJECT('locale', 'de'),
       c.created_at, c.updated_at
FROM companies c CROSS JOIN {events} e CROSS JOIN {channels} ch
"""))  # every company configures every event on every channel, ~80% enabled
    sql.append(("notification_configurations", f"""{notification_columns}
SELECT s.company_id, {_model('Service')}, s.id, e.event_type, ch.channel, IF(ch.channel = 'email', NULL, 'email'),
       {_pick('s.id * 32 + e.n * 4 + ch.n', 100, 2)} < 90, 1 + {_pick('s.id + e.n', 5, 3)},
       5 * (1 + {_pick('s.id + ch.n', 6, 4)}),
       IF({_pick('s.id * 8 + e.n', 10, 5)} = 0, CONCAT('custom_', REPLACE(e.event_type, '.', '_')), NULL),
       NULL, s.created_at, s.updated_at
FROM services s CROSS JOIN {events} e CROSS JOIN {channels} ch
WHERE {_pick('s.id * 32 + e.n * 4 + ch.n', 100, 1)} < 40
"""))  # services override ~40% of event/channel pairs

    policy_columns = """INSERT INTO policy_configurations (company_id, configurable_type, configurable_id, policy_type,
  config, is_override, overrides_id, created_at, updated_at, deleted_at)"""
    policy_config = "JSON_OBJECT('hours_before', 12 * (1 + {h}), 'fee', 5 * {h}, 'max_per_month', 1 + {h})"
    sql.append(("policy_configurations", f"""{policy_columns}
SELECT c.id, {_model('Company')}, CAST(c.id AS CHAR), t.policy_type,
       {policy_config.format(h=_pick('c.id * 3 + t.n', 4, 6))}, 0, NULL, c.created_at, c.updated_at, NULL
FROM companies c CROSS JOIN {_numbered('policy_type', ('cancellation', 'reschedule', 'recurring'))} t
"""))  # every company has one policy of each type, the root of its hierarchy
    entity = "(CRC32(x.id) MOD 1000003)"  # an integer per entity, whether its id is a number or a UUID
    for kind, source, types, share in (
        ("Branch", "branches", ("cancellation", "reschedule"), 60),
        ("Service", "services", ("cancellation",), 50),
        ("Staff", "staff", ("reschedule",), 30),
    ):
        for deleted in (True, False):
            # A tenth of the overriding entities changed their policy once: the old version is soft-deleted.
            replaced = f" AND {_pick(f'{entity} + t.n', 10, 8)} = 0" if deleted else ""
            sql.append(("policy_configurations", f"""{policy_columns}
SELECT x.company_id, {_model(kind)}, CAST(x.id AS CHAR), t.policy_type,
       {policy_config.format(h=_pick(f'{entity} + t.n + {int(deleted)}', 4, 9))}, 1, p.id,
       GREATEST(p.created_at, x.created_at) + INTERVAL {1 if deleted else 40} DAY,
       GREATEST(p.created_at, x.created_at) + INTERVAL {30 if deleted else 40} DAY,
       {'GREATEST(p.created_at, x.created_at) + INTERVAL 30 DAY' if deleted else 'NULL'}
FROM {source} x CROSS JOIN {_numbered('policy_type', types)} t
JOIN policy_configurations p ON p.company_id = x.company_id AND p.configurable_type = {_model('Company')}
 AND p.policy_type = t.policy_type AND p.deleted_at IS NULL
WHERE {_pick(f'{entity} * 3 + t.n', 100, 7)} < {share}{replaced}
"""))  # overrides point at their company's policy of the same type

    mod = "(m.appointment_id * 2 + m.k)"
    sql.append(("appointment_modifications", f"""
INSERT INTO appointment_modifications (company_id, appointment_id, customer_id, modification_type, within_policy,
  fee_charged, reason, modified_by_type, modified_by_id, metadata, created_at, updated_at, deleted_at)
SELECT m.company_id, m.appointment_id, m.customer_id,
       IF(m.k = 0 AND (m.cancelled OR {_pick(mod, 100, 1)} < 35) OR m.k = 1 AND {_pick(mod, 2, 2)} = 0, 'cancel', 'reschedule'),
       {_pick(mod, 100, 3)} >= 15,
       IF({_pick(mod, 100, 3)} >= 15, 0, ELT(1 + {_pick(mod, 5, 4)}, 10, 15, 20, 25, 50)),
       IF({_pick(mod, 4, 5)} = 0, NULL,
          ELT(1 + {_pick(mod, 5, 6)}, 'Illness', 'Schedule conflict', 'Travel', 'Weather', 'Changed mind')),
       CASE WHEN {_pick(mod, 10, 7)} < 7 THEN {_model('Customer')} WHEN {_pick(mod, 10, 7)} < 9 THEN {_model('User')} END,
       CASE WHEN {_pick(mod, 10, 7)} < 7 THEN m.customer_id WHEN {_pick(mod, 10, 7)} < 9 THEN 1 + {_pick(mod, 50, 8)} END,
       JSON_OBJECT('source', ELT(1 + {_pick(mod, 3, 9)}, 'phone_ai', 'web', 'app')),
       m.changed_at, m.changed_at, NULL
FROM (
  SELECT a.company_id, a.id AS appointment_id, a.customer_id, a.status = 'cancelled' AS cancelled, k.n AS k,
         a.created_at + INTERVAL (TIMESTAMPDIFF(MINUTE, a.created_at, LEAST(a.starts_at, {anchor}))
           * IF(k.n = 0, 10 + {_pick('a.id', 80, 10)}, 91 + {_pick('a.id', 9, 10)}) DIV 100) MINUTE AS changed_at
  FROM appointments a CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1) k
  WHERE a.customer_id IS NOT NULL AND a.starts_at IS NOT NULL AND a.created_at IS NOT NULL
    AND (a.status = 'cancelled' OR {_pick('a.id', _PER_MILLION, 11)} < {first_rate})
    AND (k.n = 0 OR {_pick('a.id', 5, 12)} = 0)
) m
"""))  # made between booking and the appointment (never after "now"); ~15% outside the policy window, with a fee
    sql.append(("appointment_modifications", f"""
UPDATE appointment_modifications SET deleted_at = updated_at + INTERVAL 1 DAY
WHERE {_pick('id', 100, 13)} = 0 AND updated_at < {anchor} - INTERVAL 1 DAY
"""))  # ~1% soft-deleted later

    sql.append((_STAFF_PICK, f"DROP TABLE IF EXISTS {_STAFF_PICK}"))
    sql.append((_STAFF_PICK, f"""
CREATE TABLE {_STAFF_PICK} (company_id BIGINT UNSIGNED NOT NULL, pos INT NOT NULL, id CHAR(36) NOT NULL,
  staff_count INT NOT NULL, PRIMARY KEY (company_id, pos)) ENGINE=InnoDB
SELECT s.company_id, ROW_NUMBER() OVER (PARTITION BY s.company_id ORDER BY s.id) - 1 AS pos, s.id,
       COUNT(*) OVER (PARTITION BY s.company_id) AS staff_count
FROM staff s WHERE s.deleted_at IS NULL
"""))  # the active staff of each company, numbered, to assign callbacks and escalations to
    seed = "p.seed"
    status = _weighted(seed, (("pending", 8), ("assigned", 6), ("contacted", 10), ("completed", 58), ("expired", 12),
                              ("cancelled", 6)), 0)
    priority = _weighted(seed, (("normal", 70), ("high", 22), ("urgent", 8)), 1)
    sql.append(("callback_requests", f"""
INSERT INTO callback_requests (company_id, customer_id, branch_id, service_id, staff_id, phone_number, customer_name,
  preferred_time_window, priority, status, assigned_to, assigned_at, contacted_at, completed_at, expires_at, notes,
  metadata, created_at, updated_at, deleted_at)
SELECT p.company_id, IF({_pick(seed, 10, 3)} = 0, NULL, p.customer_id), p.branch_id,
       IF({_pick(seed, 10, 4)} = 0, NULL, p.service_id), IF({_pick(seed, 10, 5)} < 3, NULL, p.staff_id),
       COALESCE(c.phone, CONCAT('+49 30 ', LPAD({_pick(seed, 10000000, 6)}, 7, '0'))),
       CONCAT(COALESCE(c.first_name, ''), ' ', COALESCE(c.last_name, '')),
       IF({_pick(seed, 3, 7)} = 0, NULL,
          JSON_OBJECT('from', ELT(1 + {_pick(seed, 4, 8)}, '08:00', '10:00', '13:00', '16:00'), 'hours', 2)),
       {priority}, {status},
       IF({status} IN ('pending', 'expired'), NULL, sp.id),
       IF({status} IN ('pending', 'expired'), NULL, p.created + INTERVAL 15 MINUTE),
       IF({status} IN ('contacted', 'completed'), p.created + INTERVAL 2 HOUR, NULL),
       IF({status} = 'completed', p.created + INTERVAL 3 HOUR, NULL),
       p.created + INTERVAL (4 + {_pick(seed, 68, 9)}) HOUR,
       IF({_pick(seed, 5, 10)} = 0, 'Customer asked about rescheduling.', NULL),
       JSON_OBJECT('source', ELT(1 + {_pick(seed, 3, 11)}, 'phone_ai', 'web', 'app')),
       p.created, p.created + INTERVAL 3 HOUR,
       IF({_pick(seed, 50, 12)} = 0, p.created + INTERVAL 1 DAY, NULL)
FROM (
  SELECT a.company_id, a.customer_id, a.branch_id, a.service_id, a.staff_id, a.id * 4 + cp.k AS seed,
         LEAST(a.created_at + INTERVAL {_pick('a.id * 4 + cp.k', 720, 2)} MINUTE, {anchor}) AS created
  FROM appointments a
  CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) cp
  WHERE cp.k < {copies} AND a.customer_id IS NOT NULL AND a.branch_id IS NOT NULL AND a.created_at IS NOT NULL
    AND {_pick('a.id * 4 + cp.k', _PER_MILLION, 13)} < {callback_rate}
) p
LEFT JOIN customers c ON c.id = p.customer_id
JOIN {_STAFF_PICK} first_staff ON first_staff.company_id = p.company_id AND first_staff.pos = 0
JOIN {_STAFF_PICK} sp ON sp.company_id = p.company_id AND sp.pos = {_pick(seed, 1000003, 0)} MOD first_staff.staff_count
"""))  # a customer calls about a booking (up to 4 callbacks per appointment); assignee: any active colleague

    sql.append(("callback_escalations", f"""
INSERT INTO callback_escalations (company_id, callback_request_id, escalation_reason, escalated_from, escalated_to,
  escalated_at, resolved_at, resolution_notes, metadata, created_at, updated_at)
SELECT cr.company_id, cr.id,
       {_weighted('cr.id', (('sla_breach', 50), ('manual_escalation', 30), ('multiple_attempts_failed', 20)), 1)},
       cr.assigned_to, sp.id, e.escalated_at,
       IF({_pick('cr.id', 10, 2)} < 7, e.escalated_at + INTERVAL (1 + {_pick('cr.id', 48, 3)}) HOUR, NULL),
       IF({_pick('cr.id', 10, 2)} < 7, 'Called back by the escalation owner.', NULL),
       NULL, e.escalated_at, e.escalated_at
FROM callback_requests cr
JOIN (SELECT id, created_at + INTERVAL (30 + {_pick('id', 570, 4)}) MINUTE AS escalated_at FROM callback_requests) e
  ON e.id = cr.id
JOIN {_STAFF_PICK} first_staff ON first_staff.company_id = cr.company_id AND first_staff.pos = 0
JOIN {_STAFF_PICK} sp ON sp.company_id = cr.company_id AND sp.pos = {_pick('cr.id', 1000003, 5)} MOD first_staff.staff_count
WHERE {_pick('cr.id', 100, 6)} < 12
"""))  # ~12% of callbacks escalate, to another colleague; ~70% of escalations are resolved
    sql.append((_STAFF_PICK, f"DROP TABLE {_STAFF_PICK}"))

    sql.append(("appointment_modification_stats", f"""
INSERT INTO appointment_modification_stats (company_id, customer_id, stat_type, period_start, period_end, `count`,
  calculated_at, created_at, updated_at)
SELECT company_id, customer_id, IF(modification_type = 'cancel', 'cancellation_count', 'reschedule_count'),
       DATE(DATE_FORMAT(created_at, '%Y-%m-01')), LAST_DAY(created_at), COUNT(*),
       LEAST(TIMESTAMP(LAST_DAY(created_at)) + INTERVAL 26 HOUR,
             {anchor} - INTERVAL {_pick('customer_id', 72, 7)} HOUR),
       MIN(created_at) + INTERVAL 1 HOUR,
       LEAST(TIMESTAMP(LAST_DAY(created_at)) + INTERVAL 26 HOUR, {anchor} - INTERVAL {_pick('customer_id', 72, 7)} HOUR)
FROM appointment_modifications
WHERE deleted_at IS NULL
GROUP BY company_id, customer_id, modification_type, DATE_FORMAT(created_at, '%Y-%m-01'), LAST_DAY(created_at)
"""))  # monthly counts per customer, recalculated after the month closed (the current month: within 3 days)
    return sql


def seed_phase_b(conn: Any, modifications: int = 120000, callbacks: int = 110000) -> Dict[str, int]:
    """Fill the empty Phase B tables of the connection's database from its seeded base tables.

    Deterministic and FK-consistent by construction: every row derives from an
    existing appointment, customer, service, branch or staff member of the same
    company. ``modifications`` and ``callbacks`` are targets (within ~1%).
    Returns table -> rows.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT @@SESSION.time_zone")
        saved_time_zone = cur.fetchone()[0]
        cur.execute("SELECT @@SESSION.foreign_key_checks, @@SESSION.unique_checks")
        saved_checks = cur.fetchone()
        # time_zone: timestamps are stored as written (no DST gaps). The checks: every row is
        # consistent by construction and unique keys are built from distinct sources, so
        # checking row by row would only halve the load rate.
        cur.execute("SET SESSION time_zone = '+00:00', foreign_key_checks = 0, unique_checks = 0")
        try:
            for _table, statement in _phase_b_sql(conn, modifications, callbacks):
                cur.execute(statement)
        finally:
            cur.execute("DROP TABLE IF EXISTS " + _STAFF_PICK)
            cur.execute(
                "SET SESSION time_zone = %s, foreign_key_checks = %s, unique_checks = %s", (saved_time_zone, *saved_checks)
            )
        counts = {}
        for table in PHASE_B_TABLES:
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            counts[table] = int(cur.fetchone()[0])
    conn.commit()
    return counts


def _chosen_indexes(result: CheckResult) -> str:
    plan = result.figures.get("plan") or []
    if len(plan) == 1:
        return str(plan[0]["key"] or "-")
    return " ".join(f"{line['table']}:{line['key'] or '-'}" for line in plan)


def print_table(results: Sequence[CheckResult]) -> None:
    header = ("query", "threshold", "p50", "p95", "p99", "max", "rows", "verdict", "index chosen (table:index when several)")
    lines = [header]
    for result in results:
        f = result.figures
        timed = "p95_ms" in f
        lines.append((
            result.name,
            f"{f['threshold_ms']:g} ms",
            *(f"{f[k]:.2f}" if timed else "-" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
            str(f.get("rows_returned", "-")),
            "PASS" if result.passed else "FAIL",
            _chosen_indexes(result),
        ))
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    left_aligned = (0, 7, 8)
    for number, row in enumerate(lines):
        cells = (cell.ljust(width) if i in left_aligned else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths)))
        print("  ".join(cells).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))
    for result in results:
        if not result.passed:
            print(f"FAIL {result.name}: {result.message}")
        elif result.warning:
            print(f"note {result.name}: {result.warning}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="base data multiplier (1.0: 50,000 customers, 200,000 appointments)")
    parser.add_argument("--modifications", type=int, default=120000, help="appointment_modifications rows to seed (about)")
    parser.add_argument("--callbacks", type=int, default=110000, help="callback_requests rows to seed (about)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--full-scan-rows", type=int, default=1000)
    parser.add_argument("--benchmark-file", default=BENCHMARK_FILE)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database for inspection (drop it yourself)")
    args = parser.parse_args()
    cfg = sandbox_config()
    sandbox.start(cfg)
    with open(BASE_SCHEMA_SQL, encoding="utf-8") as handle:
        base_ddl = split_statements(handle.read())
    name = SCRATCH_PREFIX + uuid.uuid4().hex[:8]
    conn = connect(cfg.admin_params())
    server = detect_server(conn)
    print(f"server: {server.label}; {os.cpu_count()} CPUs; scratch database {name}")
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    results: List[CheckResult] = []
    try:
        conn.select_db(name)
        with conn.cursor() as cur:
            for statement in base_ddl:
                cur.execute(statement.sql)
        base = seed_base_data(conn, SampleScale.scaled(args.scale))
        print(f"base data: {base.total_rows:,} rows in {base.seconds:.1f} s "
              f"({', '.join(f'{t} {n:,}' for t, n in base.rows.items())})")
        migrate_conn = connect(cfg.admin_params(), name)
        try:
            MigrationRunner(migrate_conn, RunnerSettings(database=name), load_migrations(os.path.join(REPO, "migrations"))).migrate()
        finally:
            migrate_conn.close()
        started = time.perf_counter()
        counts = seed_phase_b(conn, args.modifications, args.callbacks)
        print(f"Phase B data: {sum(counts.values()):,} rows in {time.perf_counter() - started:.1f} s "
              f"({', '.join(f'{t} {n:,}' for t, n in counts.items())})")
        started = time.perf_counter()
        results = run_benchmarks(conn, server, name, args.benchmark_file, args.warmup, args.runs, args.full_scan_rows)
        print(f"benchmark: {len(results)} queries, {args.warmup} warm-up + {args.runs} timed runs each, "
              f"ANALYZE TABLE first, {time.perf_counter() - started:.1f} s; times in ms, execute + fetchall on one connection")
        print()
        print_table(results)
    except SchemagateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"kept {name}; drop it with: DROP DATABASE `{name}`")
        else:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
