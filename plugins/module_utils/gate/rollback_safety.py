"""Prove that the pending migrations roll back and re-apply cleanly.

The seed's eleven rollback scenarios, asserted with schema fingerprints instead
of object counts: every intermediate state is compared with the state the
migrations should give, computed on the way up. Runs in a scratch clone at
production's migration state, with a little data in every table so that data
preservation is proven too.
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Sequence

from ..core.bookkeeping import bookkeeping_tables
from ..core.catalog import diff_tables, fingerprint, read_tables, table_checksums
from ..core.checks import CheckResult
from ..core.dialect import ServerInfo
from ..core.errors import SchemagateError
from ..core.schema_model import Tables
from ..migrate.migration_files import Migration
from ..migrate.laravel import runner_for
from ..migrate.runner import RunnerSettings
from .integrity import check_integrity
from .seeder import SeedPlan, seed_database


class _Scenarios:
    def __init__(self, conn: Any, server: ServerInfo, settings: RunnerSettings, migrations: Sequence[Migration]) -> None:
        self.conn = conn
        self.server = server
        self.settings = settings
        self.runner = runner_for(conn, settings, migrations)
        self.excluded = bookkeeping_tables(self.runner.settings.table)  # the table the format's tool records in
        self.results: List[CheckResult] = []

    def tables(self) -> Tables:
        return read_tables(self.conn, self.settings.database, self.server, exclude=self.excluded)

    def record(self, code: str, name: str, started: float, passed: bool, message: str, details: Sequence[str] = (), **figures: Any) -> None:
        self.results.append(
            CheckResult(code, name, passed, message, list(details), dict(figures), time.monotonic() - started)
        )

    def same(self, code: str, name: str, started: float, expected: Tables, what: str, **figures: Any) -> bool:
        actual = self.tables()
        differences = diff_tables(expected, actual)
        if differences:
            self.record(code, name, started, False, f"{what}: schema differs from the expected state", differences, **figures)
            return False
        self.record(code, name, started, True, f"{what}: schema identical (fingerprint {fingerprint(actual)[:12]})", **figures)
        return True

    def checksums(self, names: Sequence[str]) -> Dict[str, Any]:
        return table_checksums(self.conn, self.settings.database, names)


def check_rollback_safety(
    conn: Any,
    server: ServerInfo,
    settings: RunnerSettings,
    migrations: Sequence[Migration],
    rows_per_table: int = 3,
) -> List[CheckResult]:
    """Run the rollback scenarios on ``settings.database`` (a scratch clone); one CheckResult each."""
    s = _Scenarios(conn, server, settings, migrations)
    started = time.monotonic()
    try:
        return _run(s, rows_per_table)
    except SchemagateError as exc:  # a down or up that fails outright ends the scenarios here
        s.record("RB113", "rollback scenarios completed", started, False, exc.message, [exc.message])
        return s.results


def _run(s: _Scenarios, rows_per_table: int) -> List[CheckResult]:
    conn, server, settings = s.conn, s.server, s.settings
    pending = s.runner.pending()
    if not pending:
        return [CheckResult("RB113", "rollback scenarios completed", True, "nothing pending: no rollback to prove")]
    names = [m.name for m in pending]
    tiny = SeedPlan(default_rows=rows_per_table)

    # Baseline: production's structure with a little data in every pre-existing table.
    seed_database(conn, server, settings.database, tiny, exclude=s.excluded)
    baseline = s.tables()
    preexisting = sorted(baseline)
    base_sums = s.checksums(preexisting)

    # On the way up, one migration at a time: the state after each is what a partial rollback must give back.
    states: List[Tables] = [baseline]
    started = time.monotonic()
    for migration in pending:
        run = _one_up(s, migration)
        if run is not None:
            s.record("RB101", "step-by-step migrate", started, False, run)
            return s.results
        states.append(s.tables())
    s.record("RB101", "step-by-step migrate", started, True, f"{len(pending)} migrations applied one at a time", migrations=names)
    full = states[-1]
    new_tables = sorted(set(full) - set(baseline))

    # 1-2. Step-by-step rollback in reverse (FK-dependency) order: each state equals the one below it.
    started = time.monotonic()
    mismatches: List[str] = []
    fk_errors: List[str] = []
    for index in range(len(pending), 0, -1):
        try:
            done = s.runner.rollback(steps=1)
        except SchemagateError as exc:
            fk_errors.append(exc.message)
            break
        if done.names != [names[index - 1]]:
            mismatches.append(f"rollback step undid {done.names}, expected {[names[index - 1]]}")
            break
        mismatches.extend(f"after undoing {names[index - 1]}: {d}" for d in diff_tables(states[index - 1], s.tables()))
    s.record(
        "RB102",
        "step-by-step rollback",
        started,
        not mismatches and not fk_errors,
        "every partial state equals what the remaining migrations give" if not mismatches else "a partial rollback left a different schema",
        mismatches + fk_errors,
        steps=len(pending),
    )
    s.record(
        "RB103",
        "rollback in foreign-key dependency order",
        started,
        not fk_errors,
        "every down ran, newest first, without a foreign-key or other error" if not fk_errors else "a down failed",
        fk_errors,
    )
    if fk_errors:
        return s.results
    # 3-4. Full rollback: back to the pre-migration schema, no foreign key or index left behind.
    started = time.monotonic()
    s.same("RB104", "full rollback restores the pre-migration schema", started, baseline, "after rolling everything back")
    started = time.monotonic()
    after = s.tables()
    dangling = [
        f"foreign key {table}.{fk.name} still references {fk.references}"
        for table, spec in after.items() for fk in spec.foreign_keys if fk.references not in after
    ]
    leftovers = [f"table {t} left behind" for t in sorted(set(after) - set(baseline))]
    for table in set(after) & set(baseline):
        names_after = {i.name for i in after[table].indexes} | {f.name for f in after[table].foreign_keys}
        names_before = {i.name for i in baseline[table].indexes} | {f.name for f in baseline[table].foreign_keys}
        leftovers.extend(f"{table}: {name} left behind" for name in sorted(names_after - names_before))
    s.record(
        "RB105",
        "foreign keys and indexes cleaned up",
        started,
        not dangling and not leftovers,
        "no foreign key, index or table of the migrations remains" if not dangling and not leftovers else "objects remain after rollback",
        dangling + leftovers,
    )
    started = time.monotonic()
    after_sums = s.checksums(preexisting)
    changed = [f"{t}: checksum {base_sums[t]} -> {after_sums.get(t)}" for t in preexisting if after_sums.get(t) != base_sums[t]]
    s.record(
        "RB106",
        "pre-existing rows unchanged by migrate and rollback",
        started,
        not changed,
        f"{len(preexisting)} tables, row checksums identical" if not changed else "rows of pre-existing tables changed",
        changed,
    )

    # 6. Re-migration after rollback: the same schema as the first time, as one batch.
    started = time.monotonic()
    s.runner.migrate()
    s.same("RB107", "re-migration gives the first post-migration schema", started, full, "after migrating again")

    # 7-9. Data insertion, unique enforcement and cascades on the re-created tables.
    started = time.monotonic()
    seeded = seed_database(conn, server, settings.database, tiny, exclude=s.excluded)
    inserted = {t: seeded.rows.get(t, 0) for t in new_tables}
    s.record(
        "RB108",
        "data insertion after re-migration",
        started,
        all(inserted.values()),
        f"rows inserted into {len(inserted)} re-created tables",
        [f"{t}: no rows inserted" for t, n in inserted.items() if not n],
        rows=inserted,
    )
    started = time.monotonic()
    integrity = check_integrity(conn, server, settings.database, new_tables)
    for probe_code, code, name in (
        ("IN103", "RB109", "unique constraints enforced after re-migration"),
        ("IN101", "RB110", "cascades and ON DELETE rules after re-migration"),
    ):
        probes = [r for r in integrity if r.code == probe_code]
        # A rule the few rows of this copy cannot show is not a rollback failure (step 6 proved it on the seed).
        unobserved = [r for r in probes if not r.passed and r.figures.get("no_data")]
        broken = [f"{r.name}: {r.message}" for r in probes if not r.passed and r not in unobserved]
        if probes:
            message = f"{len(probes) - len(unobserved)} probes on the re-created tables" if not broken else "probes failed after re-migration"
            if unobserved and not broken:
                message += f" ({len(unobserved)} not observable on {rows_per_table} rows per table)"
        elif new_tables:
            message = f"the {len(new_tables)} re-created tables declare none: nothing of this kind to prove"
        else:
            message = "the migrations create no table (they alter existing ones): nothing to re-create"
        s.record(code, name, started, not broken, message, broken)

    # 10. Idempotency: a second migrate has nothing to do.
    started = time.monotonic()
    again = s.runner.migrate()
    s.record(
        "RB111",
        "idempotency: a second migrate has nothing to do",
        started,
        not again.changed,
        "nothing pending after re-migration" if not again.changed else f"migrate ran again: {again.names}",
    )

    # 11. Partial rollback then selective re-migration; rows of the tables that remain survive.
    started = time.monotonic()
    keep = max(1, len(pending) // 2)
    remaining_tables = sorted(set(states[keep]) - set(baseline))
    before = s.checksums(remaining_tables)
    if len(pending) > keep:
        s.runner.rollback(steps=len(pending) - keep)
    partial_diff = diff_tables(states[keep], s.tables())
    survived = s.checksums(remaining_tables)
    lost = [f"{t}: checksum {before[t]} -> {survived.get(t)}" for t in remaining_tables if survived.get(t) != before[t]]
    s.runner.migrate()
    final_diff = diff_tables(full, s.tables())
    problems = partial_diff + lost + [f"after selective re-migration: {d}" for d in final_diff]
    s.record(
        "RB112",
        "partial rollback then selective re-migration",
        started,
        not problems,
        f"rolled back {len(pending) - keep}, kept {keep}; data in kept tables survived; re-migration identical"
        if not problems else "partial rollback or selective re-migration diverged",
        problems,
    )
    return s.results


def _one_up(s: _Scenarios, migration: Migration) -> Any:
    """Apply exactly the next pending migration; an error message, or None."""
    runner = runner_for(s.conn, s.settings, [m for m in s.runner.migrations.values() if m.sort_key <= migration.sort_key])
    try:
        result = runner.migrate()
    except SchemagateError as exc:
        return exc.message
    if result.names != [migration.name]:
        return f"expected to apply {migration.name}, applied {result.names}"
    return None
