"""Deterministic, foreign-key-consistent sample data for the sandbox base tables.

The sandbox's "production" database needs realistic volume (hundreds of
thousands of rows) before migrations are timed against it. Shipping rows from
Python is far too slow, so every table is filled by one ``INSERT ... SELECT``
that the server evaluates over a generated numbers source: row ``n`` (0-based)
becomes id ``n + 1`` and every other column is pure arithmetic / ``MD5`` /
``ELT`` over ``n``. There is no ``RAND()``, ``UUID()`` or ``NOW()``, so the same
:class:`SampleScale` always produces byte-identical tables, and a table that
references another one computes the referenced id with the same expression the
referenced table used, instead of joining to it.

Ownership: entity ``k`` (0-based) of every kind (branch, staff member, service,
customer) belongs to company ``1 + k mod companies``, so company ``c`` (0-based)
owns entities ``c, c + companies, c + 2*companies, ...``. An appointment first
picks its company, then picks a customer, service, staff member and branch of
*that* company by index, which makes the data FK-consistent by construction.

The SQL is plain MySQL dialect that MariaDB 10.11 and MySQL 8.0 both run (no
SEQUENCE engine, no CTEs needed, no window functions). Only the standard library
is used; ``conn`` is any DB-API connection with pymysql's behaviour (``format``
paramstyle, ``cursor.rowcount`` = affected rows).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Callable, Sequence, Tuple

# Everything is dated relative to this fixed instant (UTC) so runs are
# reproducible; appointments span roughly 12 months before it and 2 after.
ANCHOR = "2025-06-01 00:00:00"
PAST_DAYS = 365
FUTURE_DAYS = 60

# Load order: parents before children (only matters for readers, FK checks are
# off during the load).
BASE_TABLES = ("companies", "branches", "staff", "services", "customers", "appointments")

# Odd 32-bit multipliers (golden ratio, xxHash, MurmurHash constants). Each
# attribute hashes the row number with its own multiplier so attributes are not
# correlated with each other or with the ``n mod companies`` ownership pattern.
_MULTIPLIERS = (
    2654435761, 2246822519, 3266489917, 668265263, 374761393,
    3432918353, 461845907, 2246822507, 3266489909, 1640531527,
    2869860233, 1779033703, 3144134277, 1013904242,
)
_TWO_32 = 4294967296

# (display name, slug, phone prefix, IANA time zone) for branch locations.
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
# (service name, duration in minutes); appointments reuse the duration.
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
# Status mixes as (status, weight): past appointments mostly completed, future
# ones confirmed or still pending; overall "completed" is the most common.
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
                raise ValueError(
                    f"SampleScale.{field.name} must be an integer >= 1, got {value!r}; "
                    "pass a positive row count"
                )

    @classmethod
    def scaled(cls, factor: float) -> "SampleScale":
        """The default scale with every count multiplied by ``factor`` (at least 1 each)."""
        if not factor > 0:
            raise ValueError(f"scale factor must be > 0, got {factor!r}; pass e.g. 0.1 or 2")
        default = cls()
        return cls(**{f.name: max(1, round(getattr(default, f.name) * factor)) for f in fields(cls)})

    @property
    def total_rows(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class SeedReport:
    """What :func:`seed_base_data` inserted and how long it took."""

    rows: dict[str, int]
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else float("inf")


# --------------------------------------------------------------------------
# SQL building blocks
# --------------------------------------------------------------------------

def _lit(text: str) -> str:
    """A SQL string literal that survives any connection character set.

    ASCII goes in as a plain quoted literal; anything else as a hex literal with
    a ``_utf8mb4`` introducer, so umlauts arrive intact even over a latin1
    connection.
    """
    if text.isascii():
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return "_utf8mb4 X'" + text.encode("utf-8").hex() + "'"


def _choose(index: str, options: Sequence[str]) -> str:
    """SQL picking ``options[index mod len(options)]`` (ELT is 1-based)."""
    return f"ELT(1 + MOD({index}, {len(options)}), {', '.join(_lit(o) for o in options)})"


def _pick(seed: str, count: str, salt: int) -> str:
    """SQL for a well-mixed pseudo-random integer in ``[0, count)`` derived from ``seed``.

    Multiplicative hashing: ``seed * odd constant mod 2^32`` scrambles the seed,
    and multiplying by ``count`` then dividing by 2^32 keeps the high (best
    mixed) bits and maps them evenly onto the range. Stays well inside signed
    BIGINT for seeds and counts below ~2^31.
    """
    return f"(MOD({seed} * {_MULTIPLIERS[salt]}, {_TWO_32}) * {count} DIV {_TWO_32})"


def _weighted(seed: str, mix: Sequence[Tuple[str, int]], salt: int) -> str:
    """SQL choosing a value from ``(value, weight)`` pairs with those proportions."""
    buckets = [value for value, weight in mix for _ in range(weight)]
    return _choose(_pick(seed, str(len(buckets)), salt), buckets)


def _uuid(kind: str, k: str) -> str:
    """SQL for the deterministic UUID of entity ``k`` of ``kind`` (branch, staff).

    MD5('<kind>:<k>') supplies 32 hex digits (lowercase in both servers); the
    version nibble is forced to 4 and the variant nibble to 8..b so it reads as
    a v4 UUID, then dashes are inserted right-to-left so earlier positions do
    not shift. One MD5 call per id keeps this cheap. Mirrors :func:`sample_uuid`.
    """
    h = f"MD5(CONCAT('{kind}:', {k}))"
    h = f"INSERT(INSERT({h}, 17, 1, ELT(1 + MOD({k}, 4), '8', '9', 'a', 'b')), 13, 1, '4')"
    for pos in (21, 17, 13, 9):
        h = f"INSERT({h}, {pos}, 0, '-')"
    return h


def sample_uuid(kind: str, k: int) -> str:
    """Python twin of :func:`_uuid`: the id the seeder gives entity ``k`` (0-based) of ``kind``."""
    import hashlib

    h = hashlib.md5(f"{kind}:{k}".encode()).hexdigest()
    h = h[:12] + "4" + h[13:16] + "89ab"[k % 4] + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _at(minutes_from_anchor: str) -> str:
    """SQL timestamp ``minutes_from_anchor`` minutes after (negative: before) the anchor."""
    return f"(TIMESTAMP '{ANCHOR}' + INTERVAL ({minutes_from_anchor}) MINUTE)"


def _numbers(count: int) -> str:
    """Derived table ``nums(n)`` with exactly the integers ``0 .. count-1``.

    Cross-joins one 0..9 digits table per decimal digit of ``count - 1``. The
    most significant digit only gets the values it can take, so at most 10%
    of the generated combinations are thrown away by ``WHERE n < count``
    (a plain 10^6 cross join for 200,000 rows would discard 80%). ``n`` stays a
    signed integer on purpose: MySQL rejects negative intermediate results of
    UNSIGNED arithmetic, and several expressions below go negative.
    """
    width = len(str(count - 1))
    top = (count - 1) // 10 ** (width - 1)

    def digits(upto: int) -> str:
        return "(" + " UNION ALL ".join(f"SELECT {d} AS d" for d in range(upto + 1)) + ")"

    tables = [f"{digits(9)} AS d{i}" for i in range(width - 1)] + [f"{digits(top)} AS d{width - 1}"]
    value = " + ".join(f"{10 ** i} * d{i}.d" if i else "d0.d" for i in range(width))
    # Most significant digit first so nested loops tend to produce n ascending.
    return (
        f"(SELECT {value} AS n FROM {' CROSS JOIN '.join(reversed(tables))}"
        f" WHERE {value} < {count}) AS nums"
    )


# --------------------------------------------------------------------------
# One INSERT ... SELECT per table. Row n becomes id n + 1 (or a UUID of n).
# --------------------------------------------------------------------------

def _owned_count(total: int, companies: int, c: str) -> str:
    """SQL: how many of ``total`` round-robin entities company ``c`` (0-based) owns."""
    return f"(({total} - 1 - {c}) DIV {companies} + 1)"


def _companies_sql(s: SampleScale) -> str:
    n = "n"
    status = _weighted(n, _COMPANY_STATUS_MIX, 0)
    created = _at(f"-1500 * 1440 + {n} * 100 * 1440 DIV {s.companies} + 9 * 60")
    name = (
        f"CONCAT({_choose(n, _COMPANY_PREFIXES)}, ' ', "
        f"{_choose(f'{n} DIV {len(_COMPANY_PREFIXES)}', _COMPANY_KINDS)}, "
        # prefix x kind covers 96 names; beyond that add a branch-like number.
        f"IF({n} < {len(_COMPANY_PREFIXES) * len(_COMPANY_KINDS)}, '', "
        f"CONCAT(' ', 1 + {n} DIV {len(_COMPANY_PREFIXES) * len(_COMPANY_KINDS)})))"
    )
    return f"""
INSERT INTO companies (id, name, tenant_id, status, is_active, created_at, updated_at, deleted_at)
SELECT {n} + 1, {name}, {n} + 1, {status}, {status} <> 'suspended',
       {created}, {created} + INTERVAL {_pick(n, "900", 1)} DAY, NULL
FROM {_numbers(s.companies)}"""


def _branches_sql(s: SampleScale) -> str:
    k, c, j = "n", f"MOD(n, {s.companies})", f"(n DIV {s.companies})"
    city = f"MOD({c} * 3 + {j}, {len(_CITIES)})"  # first branch in the company's home city
    district = f"MOD({c} + {j}, {len(_DISTRICTS)})"
    created = _at(f"-(1390 - {_pick(k, '200', 2)}) * 1440 + 10 * 60")
    metadata = (
        f"JSON_OBJECT('capacity', 2 + {_pick(k, '18', 3)}, "
        f"'opening_hours', {_choose(k, ['08:00-18:00', '09:00-20:00', '10:00-19:00'])}, "
        "'accepts_walk_ins', " + f"MOD({k}, 3) = 0)"
    )
    return f"""
INSERT INTO branches (id, company_id, name, slug, city, timezone, is_active, metadata, created_at, updated_at)
SELECT {_uuid('branch', k)}, {c} + 1,
       CONCAT({_choose(city, [x[0] for x in _CITIES])}, ' ', {_choose(district, [x[0] for x in _DISTRICTS])}),
       -- j (the branch's index inside its company) makes the slug unique per company
       CONCAT({_choose(city, [x[1] for x in _CITIES])}, '-', {_choose(district, [x[1] for x in _DISTRICTS])}, '-', {j} + 1),
       {_choose(city, [x[0] for x in _CITIES])}, {_choose(city, [x[3] for x in _CITIES])},
       {_pick(k, '20', 4)} > 0, {metadata},
       {created}, {created} + INTERVAL {_pick(k, '700', 5)} DAY
FROM {_numbers(s.branches)}"""


def _person_name(k: str, salt: int) -> Tuple[str, str]:
    """SQL (first name, last name) for person ``k``, hashed so names do not repeat in step."""
    return (
        _choose(_pick(k, str(len(_FIRST_NAMES)), salt), _FIRST_NAMES),
        _choose(_pick(k, str(len(_LAST_NAMES)), salt + 1), _LAST_NAMES),
    )


def _phone(k: str, c: str, salt: int) -> str:
    """SQL phone number in the company's home-city area code."""
    prefix = _choose(f"{c} * 3", [x[2] for x in _CITIES])
    return f"CONCAT({prefix}, ' ', LPAD({_pick(k, '10000000', salt)}, 7, '0'))"


def _staff_sql(s: SampleScale) -> str:
    k, c = "n", f"MOD(n, {s.companies})"
    first, last = _person_name(k, 0)
    created = _at(f"-(1390 - {_pick(k, '300', 2)}) * 1440 + 11 * 60")
    return f"""
INSERT INTO staff (id, company_id, name, email, phone, created_at, updated_at, deleted_at)
SELECT {_uuid('staff', k)}, {c} + 1, CONCAT({first}, ' ', {last}),
       CONCAT('staff', {k} + 1, '@company', {c} + 1, '.example.test'),
       {_phone(k, c, 3)},
       {created}, {created} + INTERVAL {_pick(k, '900', 4)} DAY,
       -- ~3% of staff have left (soft-deleted)
       IF({_pick(k, '100', 5)} < 3, {_at(f"-{_pick(k, '90', 6)} * 1440")}, NULL)
FROM {_numbers(s.staff)}"""


def _service_index(k: str, c: str, companies: int) -> str:
    """SQL index into ``_SERVICES`` of service ``k``: a company walks the catalogue in order."""
    return f"MOD({k} DIV {companies} + {c}, {len(_SERVICES)})"


def _services_sql(s: SampleScale) -> str:
    k, c = "n", f"MOD(n, {s.companies})"
    t = _service_index(k, c, s.companies)
    laps = f"({k} DIV {s.companies} DIV {len(_SERVICES)})"  # > 0 once a company repeats the catalogue
    created = _at(f"-(1390 - {_pick(k, '200', 0)}) * 1440 + 12 * 60")
    return f"""
INSERT INTO services (id, company_id, name, duration, is_active, created_at, updated_at, deleted_at)
SELECT {k} + 1, {c} + 1,
       CONCAT({_choose(t, [x[0] for x in _SERVICES])}, IF({laps} = 0, '', CONCAT(' (option ', {laps} + 1, ')'))),
       {_choose(t, [str(x[1]) for x in _SERVICES])},
       {_pick(k, '10', 1)} > 0,
       {created}, {created} + INTERVAL {_pick(k, '900', 2)} DAY,
       IF({_pick(k, '100', 3)} < 3, {_at(f"-{_pick(k, '120', 4)} * 1440")}, NULL)
FROM {_numbers(s.services)}"""


def _customers_sql(s: SampleScale) -> str:
    k, c = "n", f"MOD(n, {s.companies})"
    first, last = _person_name(k, 7)
    # Created 1095..400 days before the anchor in id order, i.e. before any
    # appointment (the earliest is booked ~395 days before the anchor).
    created = _at(f"-1095 * 1440 + {k} * (695 * 1440) DIV {s.customers} + {_pick(k, '600', 0)}")
    return f"""
INSERT INTO customers (id, company_id, first_name, last_name, email, phone, created_at, updated_at, deleted_at)
SELECT {k} + 1, {c} + 1, {first}, {last},
       CONCAT('customer', {k} + 1, '@example.test'),
       IF({_pick(k, '10', 1)} = 0, NULL, {_phone(k, c, 2)}),  -- ~10% never gave a phone number
       {created}, {created} + INTERVAL {_pick(k, '365', 3)} DAY,
       IF({_pick(k, '50', 4)} = 0, {_at(f"-(1 + {_pick(k, '300', 5)}) * 1440")}, NULL)  -- ~2%
FROM {_numbers(s.customers)}"""


def _appointments_sql(s: SampleScale) -> str:
    m = "n"
    # Only companies that own at least one entity of every kind can host a
    # consistent appointment (matters only for scales with fewer e.g. branches
    # than companies).
    hosts = min(s.companies, s.branches, s.staff, s.services, s.customers)
    c = f"MOD({m}, {hosts})"

    def member(total: int, salt: int) -> str:
        """0-based entity number of a pseudo-random member of company c."""
        return f"({c} + {s.companies} * {_pick(m, _owned_count(total, s.companies, c), salt)})"

    customer, service = member(s.customers, 0), member(s.services, 1)
    staff, branch = member(s.staff, 2), member(s.branches, 3)
    duration = _choose(_service_index(service, c, s.companies), [str(x[1]) for x in _SERVICES])
    # Days relative to the anchor grow with the id (bookings accumulate over
    # time): -365 .. +59; start times 08:00 .. 19:45 in 15-minute slots.
    day = f"({m} * {PAST_DAYS + FUTURE_DAYS} DIV {s.appointments} - {PAST_DAYS})"
    start_min = f"{day} * 1440 + 480 + 15 * {_pick(m, '48', 4)}"
    starts, ends = _at(start_min), _at(f"{start_min} + {duration}")
    # Booked 1..30 days ahead, but never after the anchor ("now").
    lead_days = _pick(m, "30", 5)
    booked = _at(f"{start_min} - (1 + {lead_days}) * 1440")
    created = f"LEAST({booked}, {_at('-' + _pick(m, '720', 6))})"
    # Touched again when it took place (past) or still as booked (future).
    touched = f"GREATEST({created}, LEAST({ends}, TIMESTAMP '{ANCHOR}'))"
    status = f"IF({day} < 0, {_weighted(m, _PAST_STATUS_MIX, 7)}, {_weighted(m, _FUTURE_STATUS_MIX, 7)})"
    return f"""
INSERT INTO appointments (id, company_id, customer_id, service_id, staff_id, branch_id,
                          starts_at, ends_at, status, notes, created_at, updated_at, deleted_at)
SELECT {m} + 1, {c} + 1, {customer} + 1, {service} + 1, {_uuid('staff', staff)}, {_uuid('branch', branch)},
       {starts}, {ends}, {status},
       IF({_pick(m, '10', 8)} = 0, {_choose(_pick(m, str(len(_APPOINTMENT_NOTES)), 9), _APPOINTMENT_NOTES)}, NULL),
       {created},
       {touched},
       IF({_pick(m, '50', 10)} = 0, {touched}, NULL)  -- ~2% soft-deleted
FROM {_numbers(s.appointments)}"""


_TABLE_SQL: Tuple[Tuple[str, Callable[[SampleScale], str]], ...] = (
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
    """Raise ValueError unless a database is selected and every base table exists and is empty."""
    cur.execute("SELECT DATABASE()")
    database = cur.fetchone()[0]
    if database is None:
        raise ValueError("no database selected; connect with a database (or run USE <db>) before seeding")
    for table in BASE_TABLES:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            (table,),
        )
        if cur.fetchone()[0] == 0:
            raise ValueError(f"table {database}.{table} does not exist; load sql/base_schema.sql first")
        cur.execute(f"SELECT 1 FROM `{table}` LIMIT 1")
        if cur.fetchone() is not None:
            raise ValueError(
                f"table {database}.{table} is not empty; seed only a freshly created database "
                "(drop and recreate it first)"
            )


def seed_base_data(conn, scale: SampleScale = SampleScale()) -> SeedReport:
    """Fill empty base tables in the connection's current database.

    Each table is one server-side ``INSERT ... SELECT`` committed on its own; if
    one fails, the tables before it stay filled, so recreate the database before
    retrying. Raises ValueError if a count is < 1 or a target table is missing
    or not empty.
    """
    if not isinstance(scale, SampleScale):
        raise ValueError(f"scale must be a SampleScale, got {type(scale).__name__}")
    SampleScale(**{f.name: getattr(scale, f.name) for f in fields(scale)})  # re-validate counts

    started = time.perf_counter()
    rows: dict[str, int] = {}
    cur = conn.cursor()
    try:
        _check_targets(cur)
        cur.execute("SELECT @@SESSION.unique_checks, @@SESSION.foreign_key_checks, @@SESSION.time_zone")
        unique_checks, foreign_key_checks, time_zone = cur.fetchone()
        # unique_checks=0: safe because the tables start empty and every unique
        # key is built from distinct row numbers; lets InnoDB build indexes in bulk.
        # foreign_key_checks=0: safe because child ids are computed to match
        # parents by construction (the load order is also parent-first).
        # Together they enable MariaDB's empty-table bulk insert (one undo record).
        # time_zone='+00:00': TIMESTAMP literals are then stored as written on
        # every server, so runs are reproducible and no value falls into a DST gap.
        cur.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0, time_zone = '+00:00'")
        try:
            for table, build in _TABLE_SQL:
                cur.execute(build(scale))
                rows[table] = cur.rowcount
                conn.commit()  # no-op under autocommit; otherwise one transaction per table
        finally:
            cur.execute(
                "SET SESSION unique_checks = %s, foreign_key_checks = %s, time_zone = %s",
                (int(unique_checks), int(foreign_key_checks), time_zone),
            )
    finally:
        cur.close()
    return SeedReport(rows=rows, seconds=time.perf_counter() - started)
