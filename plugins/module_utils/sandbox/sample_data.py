"""Deterministic, foreign-key-consistent sample data for the sandbox base tables.

The sandbox's "production" database needs realistic volume (hundreds of
thousands of rows) before migrations are timed against it. Shipping rows from
Python is far too slow, so every table is filled by one ``INSERT ... SELECT``
that the server evaluates over a generated numbers source: row ``n`` (0-based)
becomes id ``n + 1`` and every other column is integer arithmetic, ``ELT`` or
``MD5`` over ``n``. There is no ``RAND()``, ``UUID()`` or ``NOW()``, so the same
:class:`SampleScale` always produces identical tables, and a table that
references another computes the referenced id with the same expression the
referenced table used instead of looking it up.

Ownership: entity ``k`` (0-based) of every kind (branch, staff member, service,
customer) belongs to company ``1 + k mod companies``, so company ``c`` (0-based)
owns entities ``c, c + companies, c + 2*companies, ...``. An appointment first
picks its company, then a customer, service and staff member of *that* company
by index (and the staff member's branch), so the data is FK-consistent by
construction.

The SQL is the dialect MariaDB 10.11 and MySQL 8.0 share: no SEQUENCE engine,
no CTEs, no window functions. Only the standard library is used; ``conn`` is a
DB-API connection that behaves like pymysql's (``format`` paramstyle,
``cursor.rowcount`` = affected rows).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, fields
from typing import Callable, Sequence, Tuple

from ..core.errors import SchemagateError
from ..core.numbers import numbers_source

# Everything is dated relative to this fixed instant (UTC) so runs are
# reproducible; appointments span the 365 days before it and the 60 after.
ANCHOR = "2025-06-01 00:00:00"
PAST_DAYS = 365
FUTURE_DAYS = 60

BASE_TABLES = ("companies", "branches", "staff", "services", "customers", "appointments")

# Session-private helper table (see _appointments_sql); dropped after the load.
_PLAN_TABLE = "_schemagate_seed_plan"
# Target size of the plan: big enough that its rows recur far apart, small
# enough to build in a fraction of the load time.
_PLAN_ROWS = 20000

# Odd 32-bit multipliers (golden ratio, xxHash and MurmurHash constants). Each
# attribute hashes the row number with its own multiplier so attributes are
# not correlated with each other or with the ``n mod companies`` ownership.
_MULTIPLIERS = (
    2654435761, 2246822519, 3266489917, 668265263, 374761393,
    3432918353, 461845907, 2246822507, 3266489909, 1640531527,
    2869860233, 1779033703, 3144134277, 1013904242,
)
_TWO_32 = 4294967296

# (display name, slug, phone prefix, IANA time zone) of branch locations.
_CITIES: Tuple[Tuple[str, str, str, str], ...] = (
    ("Berlin", "berlin", "+49 30", "Europe/Berlin"),
    ("Hamburg", "hamburg", "+49 40", "Europe/Berlin"),
    ("München", "muenchen", "+49 89", "Europe/Berlin"),
    ("Köln", "koeln", "+49 221", "Europe/Berlin"),
    ("Frankfurt am Main", "frankfurt", "+49 69", "Europe/Berlin"),
    ("Stuttgart", "stuttgart", "+49 711", "Europe/Berlin"),
    ("Düsseldorf", "duesseldorf", "+49 211", "Europe/Berlin"),
    ("Leipzig", "leipzig", "+49 341", "Europe/Berlin"),
    ("Dresden", "dresden", "+49 351", "Europe/Berlin"),
    ("Hannover", "hannover", "+49 511", "Europe/Berlin"),
    ("Nürnberg", "nuernberg", "+49 911", "Europe/Berlin"),
    ("Bremen", "bremen", "+49 421", "Europe/Berlin"),
    ("Wien", "wien", "+43 1", "Europe/Vienna"),
    ("Zürich", "zuerich", "+41 44", "Europe/Zurich"),
)
_DISTRICTS = (
    ("Mitte", "mitte"), ("Nord", "nord"), ("Süd", "sued"), ("West", "west"),
    ("Ost", "ost"), ("Altstadt", "altstadt"), ("Hauptbahnhof", "hbf"), ("Neustadt", "neustadt"),
)
_COMPANY_PREFIXES = (
    "Bella", "Urban", "Vital", "Nordlicht", "Sonnenschein", "Prime", "Grünblick",
    "Blue Lotus", "Alpenglühen", "Rheinblick", "Spreeufer", "Elbflair",
)
_COMPANY_KINDS = (
    "Hair Studio", "Physiotherapie", "Beauty Lounge", "Zahnpraxis",
    "Barbershop", "Yoga Loft", "Nail Bar", "Wellness Spa",
)
_FIRST_NAMES = (
    "Anna", "Lukas", "Mia", "Leon", "Emma", "Finn", "Sophie", "Jonas", "Lea", "Elias",
    "Hannah", "Noah", "Lena", "Paul", "Marie", "Felix", "Laura", "Jan", "Sara", "Tim",
    "Zoe", "Ben", "Clara", "Max",
)
_LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
    "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
    "Hartmann", "Lange", "Yılmaz", "Kowalski", "Nguyen", "Rossi", "Öztürk",
)
# (service name, duration in minutes); an appointment lasts its service's duration.
_SERVICES = (
    ("Haircut", 30), ("Wash & blow-dry", 45), ("Colouring", 120), ("Beard trim", 15),
    ("Manicure", 45), ("Pedicure", 60), ("Classic massage", 60),
    ("Physiotherapy session", 30), ("Initial consultation", 20),
    ("Facial treatment", 75), ("Dental cleaning", 45), ("Private yoga lesson", 60),
)
_APPOINTMENT_NOTES = (
    "Please call if running late.", "First visit.", "Prefers the window seat.",
    "Allergic to latex.", "Booked via phone.", "Gift voucher.",
)
# (value, weight) mixes. Past appointments are mostly completed, future ones
# confirmed or still pending; overall "completed" is by far the most common.
_PAST_STATUS_MIX = (("completed", 16), ("cancelled", 2), ("no_show", 1), ("confirmed", 1))
_FUTURE_STATUS_MIX = (("confirmed", 12), ("pending", 6), ("cancelled", 2))
_COMPANY_STATUS_MIX = (("active", 17), ("trial", 2), ("suspended", 1))


@dataclass(frozen=True)
class SampleScale:
    """How many rows each base table gets (branches..customers spread over companies)."""

    companies: int = 20
    branches: int = 200
    staff: int = 1000
    services: int = 200
    customers: int = 50000
    appointments: int = 200000

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SchemagateError(
                    f"SampleScale.{field.name} must be an integer >= 1, got {value!r}; pass a positive row count"
                )

    @classmethod
    def scaled(cls, factor: float) -> "SampleScale":
        """The default scale with every count multiplied by ``factor`` (at least 1 each)."""
        if not factor > 0:
            raise SchemagateError(f"The scale factor must be > 0, got {factor!r}: pass e.g. 0.1 or 2.")
        default = cls()
        return cls(**{f.name: max(1, round(getattr(default, f.name) * factor)) for f in fields(cls)})

    @property
    def total_rows(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class SeedReport:
    """What :func:`seed_base_data` inserted (table -> rows) and how long it took."""

    rows: dict[str, int]
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else float("inf")


# --------------------------------------------------------------------------
# SQL building blocks (each returns a SQL expression string)
# --------------------------------------------------------------------------

def _lit(text: str) -> str:
    """A string literal that survives any connection character set.

    ASCII goes in quoted; anything else as hex with a ``_utf8mb4`` introducer,
    so umlauts arrive intact even over a latin1 connection.
    """
    if text.isascii():
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return "_utf8mb4 X'" + text.encode("utf-8").hex() + "'"


def _choose(index: str, options: Sequence[str]) -> str:
    """``options[index mod len(options)]`` (ELT is 1-based)."""
    return f"ELT(1 + MOD({index}, {len(options)}), {', '.join(_lit(o) for o in options)})"


def _case(index: str, values: Sequence[int]) -> str:
    """Integer ``values[index mod len(values)]`` (stays an integer, unlike ELT)."""
    whens = " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(values))
    return f"CASE MOD({index}, {len(values)}) {whens} END"


def _pick(seed: str, count: int, salt: int) -> str:
    """A well-spread pseudo-random integer in ``[0, count)`` derived from integer ``seed``.

    Multiplicative hashing: ``(seed + 1) * odd constant mod 2^32`` scrambles the
    seed (``+ 1`` so row 0 is not all zeros), then ``* count DIV 2^32`` keeps
    the best-mixed high bits and maps them evenly onto the range. Cheap (four
    integer operations) and far inside signed BIGINT for seeds below 2^31.
    """
    return f"(MOD(({seed} + 1) * {_MULTIPLIERS[salt]}, {_TWO_32}) * {count} DIV {_TWO_32})"


def _weighted(seed: str, mix: Sequence[Tuple[str, int]], salt: int) -> str:
    """A value from ``(value, weight)`` pairs, chosen in those proportions."""
    buckets = [bucket for value, weight in mix for bucket in [value] * weight]
    return _choose(_pick(seed, len(buckets), salt), buckets)


def _uuid(kind: str, k: str) -> str:
    """Deterministic UUID of entity ``k`` (0-based) of ``kind``; mirrors :func:`sample_uuid`.

    MD5('<kind>:<k>') supplies 32 lowercase hex digits; the version nibble is
    forced to 4 and the variant nibble to 8..b so it reads as a v4 UUID, then
    dashes go in right-to-left so earlier positions do not shift. One MD5 call
    per id keeps it cheap.
    """
    h = f"MD5(CONCAT('{kind}:', {k}))"
    h = f"INSERT(INSERT({h}, 17, 1, ELT(1 + MOD({k}, 4), '8', '9', 'a', 'b')), 13, 1, '4')"
    for pos in (21, 17, 13, 9):
        h = f"INSERT({h}, {pos}, 0, '-')"
    return h


def sample_uuid(kind: str, k: int) -> str:
    """The id the seeder gives entity ``k`` (0-based) of ``kind`` ('branch' or 'staff')."""
    h = hashlib.md5(f"{kind}:{k}".encode()).hexdigest()
    h = h[:12] + "4" + h[13:16] + "89ab"[k % 4] + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _at(minutes: str) -> str:
    """The TIMESTAMP ``minutes`` minutes after (negative: before) the anchor."""
    return f"(TIMESTAMP '{ANCHOR}' + INTERVAL ({minutes}) MINUTE)"


def _owned(total: int, companies: int, c: str) -> str:
    """How many of ``total`` round-robin entities company ``c`` (0-based) owns."""
    return f"(({total} - 1 - {c}) DIV {companies} + 1)"


def _service_index(k: str, c: str, companies: int) -> str:
    """Catalogue index (into _SERVICES) of service ``k``; each company walks the catalogue."""
    return f"MOD({k} DIV {companies} + {c}, {len(_SERVICES)})"


def _person_name(k: str, salt: int) -> Tuple[str, str]:
    """(first name, last name) of person ``k``."""
    return (
        _choose(_pick(k, len(_FIRST_NAMES), salt), _FIRST_NAMES),
        _choose(_pick(k, len(_LAST_NAMES), salt + 1), _LAST_NAMES),
    )


def _phone(k: str, c: str, salt: int) -> str:
    """A phone number in the home-city area code of company ``c``."""
    prefix = _choose(f"{c} * 3", [city[2] for city in _CITIES])
    return f"CONCAT({prefix}, ' ', LPAD({_pick(k, 10000000, salt)}, 7, '0'))"


# --------------------------------------------------------------------------
# Statements per table. Row n becomes id n + 1 (or the UUID of n); a table's
# last statement is its INSERT, whose rowcount is reported.
# --------------------------------------------------------------------------

def _companies_sql(s: SampleScale) -> Tuple[str, ...]:
    n = "n"
    status = _weighted(n, _COMPANY_STATUS_MIX, 0)
    created = _at(f"(-1500 + {n} * 100 DIV {s.companies}) * 1440 + 9 * 60")  # 1500..1400 days ago
    names = len(_COMPANY_PREFIXES) * len(_COMPANY_KINDS)
    name = (
        # (n, n + n DIV 12) mod (12, 8) is a distinct pair for each of the first 96
        f"CONCAT({_choose(n, _COMPANY_PREFIXES)}, ' ', {_choose(f'{n} + {n} DIV {len(_COMPANY_PREFIXES)}', _COMPANY_KINDS)}, "
        f"IF({n} < {names}, '', CONCAT(' ', 1 + {n} DIV {names})))"  # numbered once the combinations run out
    )
    return (f"""
INSERT INTO companies (id, name, tenant_id, status, is_active, created_at, updated_at, deleted_at)
SELECT {n} + 1, {name}, {n} + 1, {status}, {status} <> 'suspended',
       {created}, {created} + INTERVAL {_pick(n, 900, 1)} DAY, NULL
FROM {numbers_source(s.companies)}""",)


def _branches_sql(s: SampleScale) -> Tuple[str, ...]:
    k, c, j = "n", f"MOD(n, {s.companies})", f"(n DIV {s.companies})"  # j: index within the company
    city = f"MOD({c} * 3 + {j}, {len(_CITIES)})"  # the first branch is in the company's home city
    district = f"MOD({c} + {j}, {len(_DISTRICTS)})"
    created = _at(f"(-1390 + {_pick(k, 200, 2)}) * 1440 + 10 * 60")
    metadata = (
        f"JSON_OBJECT('capacity', 2 + {_pick(k, 18, 3)}, "
        f"'opening_hours', {_choose(k, ['08:00-18:00', '09:00-20:00', '10:00-19:00'])}, "
        f"'accepts_walk_ins', MOD({k}, 3) = 0)"
    )
    return (f"""
INSERT INTO branches (id, company_id, name, slug, city, timezone, is_active, metadata, created_at, updated_at)
SELECT {_uuid('branch', k)}, {c} + 1,
       CONCAT({_choose(city, [x[0] for x in _CITIES])}, ' ', {_choose(district, [x[0] for x in _DISTRICTS])}),
       CONCAT({_choose(city, [x[1] for x in _CITIES])}, '-', {_choose(district, [x[1] for x in _DISTRICTS])}, '-', {j} + 1),
       {_choose(city, [x[0] for x in _CITIES])}, {_choose(city, [x[3] for x in _CITIES])},
       {_pick(k, 20, 4)} > 0, {metadata},
       {created}, {created} + INTERVAL {_pick(k, 700, 5)} DAY
FROM {numbers_source(s.branches)}""",)  # slug ends in j + 1, so it is unique per company


def _staff_sql(s: SampleScale) -> Tuple[str, ...]:
    k, c = "n", f"MOD(n, {s.companies})"
    first, last = _person_name(k, 0)
    created = _at(f"(-1390 + {_pick(k, 300, 2)}) * 1440 + 11 * 60")
    updated = f"{created} + INTERVAL {_pick(k, 900, 3)} DAY"
    return (f"""
INSERT INTO staff (id, company_id, name, email, phone, created_at, updated_at, deleted_at)
SELECT {_uuid('staff', k)}, {c} + 1, CONCAT({first}, ' ', {last}),
       CONCAT('staff', {k} + 1, '@company', {c} + 1, '.example.test'), {_phone(k, c, 4)},
       {created}, {updated},
       IF({_pick(k, 100, 5)} < 3, {updated}, NULL)
FROM {numbers_source(s.staff)}""",)  # ~3% have left: soft-deleted at their last update


def _services_sql(s: SampleScale) -> Tuple[str, ...]:
    k, c = "n", f"MOD(n, {s.companies})"
    t = _service_index(k, c, s.companies)
    laps = f"({k} DIV {s.companies} DIV {len(_SERVICES)})"  # > 0 once a company repeats the catalogue
    created = _at(f"(-1390 + {_pick(k, 200, 0)}) * 1440 + 12 * 60")
    updated = f"{created} + INTERVAL {_pick(k, 900, 2)} DAY"
    return (f"""
INSERT INTO services (id, company_id, name, duration, is_active, created_at, updated_at, deleted_at)
SELECT {k} + 1, {c} + 1,
       CONCAT({_choose(t, [x[0] for x in _SERVICES])}, IF({laps} = 0, '', CONCAT(' (option ', {laps} + 1, ')'))),
       {_case(t, [x[1] for x in _SERVICES])},
       {_pick(k, 10, 1)} > 0,
       {created}, {updated},
       IF({_pick(k, 100, 3)} < 3, {updated}, NULL)
FROM {numbers_source(s.services)}""",)  # ~10% inactive, ~3% soft-deleted


def _customers_sql(s: SampleScale) -> Tuple[str, ...]:
    k, c = "n", f"MOD(n, {s.companies})"
    first, last = _person_name(k, 7)
    # Created 1095..400 days before the anchor in id order, i.e. before any
    # appointment is booked (the earliest ~396 days before the anchor).
    created_min = f"-1095 * 1440 + {k} * {695 * 1440} DIV {s.customers} + {_pick(k, 600, 0)}"
    updated = _at(f"{created_min} + 1440 * {_pick(k, 365, 3)}")
    return (f"""
INSERT INTO customers (id, company_id, first_name, last_name, email, phone, created_at, updated_at, deleted_at)
SELECT {k} + 1, {c} + 1, {first}, {last},
       CONCAT('customer', {k} + 1, '@example.test'),
       IF({_pick(k, 10, 1)} = 0, NULL, {_phone(k, c, 2)}),
       {_at(created_min)}, {updated},
       IF({_pick(k, 50, 4)} = 0, {updated}, NULL)
FROM {numbers_source(s.customers)}""",)  # ~10% without phone, ~2% soft-deleted


def _hosts(s: SampleScale) -> int:
    """How many companies get appointments: those owning an entity of every kind.

    All of them unless a count is below ``companies``; they are companies 1..hosts.
    """
    return min(s.companies, s.branches, s.staff, s.services, s.customers)


def _plan_rows(s: SampleScale) -> int:
    """Rows of the appointment plan: a multiple of hosts, so ``r mod hosts == n mod hosts``."""
    hosts = _hosts(s)
    return hosts * max(1, min(-(-s.appointments // hosts), _PLAN_ROWS // hosts))


def _appointments_sql(s: SampleScale) -> Tuple[str, ...]:
    """Appointments in two steps: a small "plan" temp table, then one row per appointment.

    Evaluating every per-row choice (staff and branch UUIDs, service and its
    duration, time slot, statuses, note, soft-delete) as SQL for 200,000 rows
    costs more than inserting them (MD5 alone ~0.4 s per UUID column), so those
    are computed once into a plan of at most ~20,000 rows, keyed by
    ``r = n mod plan_rows``. Each appointment joins its plan row (one hash
    lookup) and adds what must vary per row: the customer and the day. A plan
    row thus recurs every ``plan_rows`` appointments (~6 weeks apart at the
    default scale), each time for another customer on another day.
    """
    hosts, plan_rows = _hosts(s), _plan_rows(s)

    def member(seed: str, c: str, total: int, salt: int) -> str:
        """Entity number (0-based) of a pseudo-random member of company ``c``.

        Chooses among the first ``(total - hosts) DIV companies + 1`` members, a
        count every host company reaches, so the range is a constant.
        """
        return f"({c} + {s.companies} * {_pick(seed, (total - hosts) // s.companies + 1, salt)})"

    r, c = "n", f"MOD(n, {hosts})"
    service, staff = member(r, c, s.services, 1), member(r, c, s.staff, 2)
    # A staff member works at one branch of their company (j-th staff -> j-th branch, cycling).
    branch = f"({c} + {s.companies} * MOD({staff} DIV {s.companies}, {_owned(s.branches, s.companies, c)}))"
    note = _choose(_pick(r, len(_APPOINTMENT_NOTES), 9), _APPOINTMENT_NOTES)
    create_plan = f"""
CREATE TEMPORARY TABLE {_PLAN_TABLE} (
  r INT NOT NULL PRIMARY KEY, company INT NOT NULL, service INT NOT NULL,
  staff_id CHAR(36) CHARACTER SET ascii NOT NULL, branch_id CHAR(36) CHARACTER SET ascii NOT NULL,
  start_minute INT NOT NULL, duration INT NOT NULL, lead_minutes INT NOT NULL, latest_booking INT NOT NULL,
  past_status VARCHAR(16) CHARACTER SET ascii NOT NULL, future_status VARCHAR(16) CHARACTER SET ascii NOT NULL,
  note VARCHAR(64) CHARACTER SET utf8mb4 NULL, deleted TINYINT NOT NULL
) ENGINE=MEMORY"""  # MEMORY: hash-index lookups are the cheapest join; it lives only for this session
    fill_plan = f"""
INSERT INTO {_PLAN_TABLE}
SELECT {r}, {c}, {service}, {_uuid('staff', staff)}, {_uuid('branch', branch)},
       480 + 15 * {_pick(r, 48, 4)},
       {_case(_service_index(service, c, s.companies), [x[1] for x in _SERVICES])},
       1440 * (1 + {_pick(r, 30, 5)}),
       -1 - {_pick(r, 720, 6)},
       {_weighted(r, _PAST_STATUS_MIX, 7)}, {_weighted(r, _FUTURE_STATUS_MIX, 7)},
       IF({_pick(r, 10, 8)} = 0, {note}, NULL),
       {_pick(r, 50, 10)} = 0
FROM {numbers_source(plan_rows)}"""  # start 08:00..19:45; booked 1..30 days ahead; ~10% notes; ~2% deleted

    # Per appointment: days grow with the id (bookings accumulate over time),
    # -365 .. +59 relative to the anchor. Times are integer minutes from the
    # anchor, converted to TIMESTAMP once per column.
    n = "n"
    day = f"({n} * {PAST_DAYS + FUTURE_DAYS} DIV {s.appointments} - {PAST_DAYS})"
    start = f"{day} * 1440 + p.start_minute"
    end = f"{start} + p.duration"
    created = f"LEAST({start} - p.lead_minutes, p.latest_booking)"  # never after the anchor ("now")
    touched = f"IF({day} < 0, {end}, {created})"  # updated when it took place, else when booked
    customer = member(n, "p.company", s.customers, 0)
    insert = f"""
INSERT INTO appointments (id, company_id, customer_id, service_id, staff_id, branch_id,
                          starts_at, ends_at, status, notes, created_at, updated_at, deleted_at)
SELECT {n} + 1, p.company + 1, {customer} + 1, p.service + 1, p.staff_id, p.branch_id,
       {_at(start)}, {_at(end)}, IF({day} < 0, p.past_status, p.future_status), p.note,
       {_at(created)}, {_at(touched)}, IF(p.deleted, {_at(touched)}, NULL)
FROM {numbers_source(s.appointments)} JOIN {_PLAN_TABLE} AS p ON p.r = MOD({n}, {plan_rows})"""
    return (f"DROP TEMPORARY TABLE IF EXISTS {_PLAN_TABLE}", create_plan, fill_plan, insert)


_TABLE_SQL: Tuple[Tuple[str, Callable[[SampleScale], Tuple[str, ...]]], ...] = (
    ("companies", _companies_sql),
    ("branches", _branches_sql),
    ("staff", _staff_sql),
    ("services", _services_sql),
    ("customers", _customers_sql),
    ("appointments", _appointments_sql),
)


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def _check_targets(cur) -> None:
    """Raise SchemagateError unless a database is selected and every base table exists and is empty."""
    cur.execute("SELECT DATABASE()")
    database = cur.fetchone()[0]
    if database is None:
        raise SchemagateError("no database selected; connect with a database (or run USE <db>) before seeding")
    for table in BASE_TABLES:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            (table,),
        )
        if cur.fetchone()[0] == 0:
            raise SchemagateError(f"table {database}.{table} does not exist; load sql/base_schema.sql first")
        cur.execute(f"SELECT 1 FROM `{table}` LIMIT 1")
        if cur.fetchone() is not None:
            raise SchemagateError(
                f"table {database}.{table} is not empty; seed only a freshly created database (drop and recreate it)"
            )


def seed_base_data(conn, scale: SampleScale = SampleScale()) -> SeedReport:
    """Fill empty base tables in the connection's current database.

    Each table is one server-side ``INSERT ... SELECT`` committed on its own; if
    one fails, the tables before it stay filled, so recreate the database before
    retrying. Raises SchemagateError if a count is < 1 or a base table is missing or
    not empty. Session settings changed for the load are restored afterwards.
    """
    if not isinstance(scale, SampleScale):
        raise SchemagateError(f"scale must be a SampleScale, got {type(scale).__name__}; build one with SampleScale(...)")
    SampleScale(**{f.name: getattr(scale, f.name) for f in fields(scale)})  # re-validate the counts

    started = time.perf_counter()
    rows: dict[str, int] = {}
    cur = conn.cursor()
    try:
        _check_targets(cur)
        cur.execute(
            "SELECT @@SESSION.unique_checks, @@SESSION.foreign_key_checks, @@SESSION.time_zone,"
            " @@SESSION.max_heap_table_size"
        )
        saved = cur.fetchone()
        cur.execute(
            "SET SESSION"
            # Safe: the tables start empty and every unique key (PKs, branch
            # slugs) is built from distinct row numbers, so nothing can collide.
            " unique_checks = 0,"
            # Safe: child ids are computed to match existing parents by
            # construction (and the schema declares only branches -> companies).
            # With unique_checks=0 this enables MariaDB's bulk insert into empty tables.
            " foreign_key_checks = 0,"
            # Safe and needed: TIMESTAMP literals are then stored exactly as
            # written (reproducible on any server, no DST gaps).
            " time_zone = '+00:00',"
            # Safe: only caps the size of this session's MEMORY tables; makes room
            # for the plan (~450 bytes a row, so 1 KiB a row is plenty).
            f" max_heap_table_size = GREATEST(@@SESSION.max_heap_table_size, {1024 * (_plan_rows(scale) + 1024)})"
        )
        try:
            for table, build in _TABLE_SQL:
                for statement in build(scale):
                    cur.execute(statement)
                rows[table] = cur.rowcount  # the table's INSERT is its last statement
                conn.commit()  # no-op under autocommit, else one transaction per table
        finally:
            cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {_PLAN_TABLE}")
            cur.execute(
                "SET SESSION unique_checks = %s, foreign_key_checks = %s, time_zone = %s, max_heap_table_size = %s",
                tuple(saved),
            )
    finally:
        cur.close()
    return SeedReport(rows=rows, seconds=time.perf_counter() - started)
