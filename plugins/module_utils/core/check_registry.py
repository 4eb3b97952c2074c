"""Every check schemagate runs, registered once: code, group, description and default severity.

As skeema registers its linter rules and Atlas codes its analyzers, a check is
known by a stable code. The code says where the check lives (the group is the
step that runs it: ``PF`` preflight in gate/preflight.py, ``SV`` verify in
gate/schema_verify.py, ...), reports print it, waivers name it, and the README's
check list is this table. Codes are never reused; a retired check keeps its code.

Severity is what a failure does by default: ``block`` stops the gate (or the
deploy), ``warn`` is reported on every run without blocking, ``info`` only
describes. A waiver in the expectations file turns one blocking failure, on one
object, into a reported one.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Dict, Tuple


class Severity(Enum):
    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


@dataclass(frozen=True)
class CheckDefinition:
    code: str
    group: str  # the step that runs it: preflight, lint, data, rehearsal, seed, ddl, policy, migrate, verify, ... smoke
    title: str  # short and stable: what reports and the README call it
    description: str  # what it proves, one sentence
    severity: Severity = Severity.BLOCK


# The gate's steps in the order they run (reports follow it), then the deploy's.
GROUP_ORDER: Tuple[str, ...] = (
    "preflight", "lint", "data", "rehearsal", "seed", "ddl", "policy", "migrate", "verify", "integrity", "benchmark",
    "rollback", "gate", "smoke",
)

_B, _W, _I = Severity.BLOCK, Severity.WARN, Severity.INFO

_DEFINITIONS: Tuple[CheckDefinition, ...] = (
    # preflight: read-only questions to production (gate/preflight.py)
    CheckDefinition("PF101", "preflight", "server", "Production's server flavour and version, read", _I),
    CheckDefinition("PF102", "preflight", "pending migrations", "Which migrations are pending and which applied", _I),
    CheckDefinition("PF103", "preflight", "applied migrations unchanged",
                    "Every applied migration's file still has the checksum recorded when it ran"),
    CheckDefinition("PF104", "preflight", "no partial migration", "No migration stopped halfway on production"),
    CheckDefinition("PF105", "preflight", "applied migrations have files",
                    "Every migration production recorded as applied has its file in this release"),
    CheckDefinition("PF106", "preflight", "no long open transaction",
                    "No transaction open longer than gate_long_transaction_seconds that DDL would queue behind"),
    CheckDefinition("PF107", "preflight", "privileges on production", "The account holds what this step needs on production"),
    CheckDefinition("PF108", "preflight", "privileges on scratch databases",
                    "The account may create, fill and drop the rehearsal's scratch databases"),
    # lint: every pending statement read against production's catalog (gate/lint.py); Atlas/squawk-style codes
    CheckDefinition("LN101", "lint", "migration linted", "Every statement of the pending migration was read and linted", _I),
    CheckDefinition("LN102", "lint", "statement understood",
                    "The linter understood the statement (what it cannot read is said, never guessed)", _I),
    CheckDefinition("LN103", "lint", "annotations well formed",
                    "Every schemagate: annotation names a known code with a reason and allows a finding"),
    CheckDefinition("DS101", "lint", "drop table", "No pre-existing table is dropped"),
    CheckDefinition("DS102", "lint", "drop column", "No column of a pre-existing table is dropped"),
    CheckDefinition("DS103", "lint", "rename table or column",
                    "No pre-existing table or column is renamed under the running application"),
    CheckDefinition("DS104", "lint", "rows deleted", "No TRUNCATE, and no DELETE without WHERE, on a pre-existing table"),
    CheckDefinition("MF101", "lint", "NOT NULL without default on a populated table",
                    "No NOT NULL column without DEFAULT is added to, or imposed on, a table that has rows"),
    CheckDefinition("MF102", "lint", "type narrowing", "No column of a pre-existing table gets a type that holds less"),
    CheckDefinition("MF103", "lint", "ENUM/SET values removed or reordered",
                    "ENUM and SET columns only gain values, at the end"),
    CheckDefinition("MF104", "lint", "foreign key dropped", "No foreign key of a pre-existing table is dropped for good"),
    CheckDefinition("MY101", "lint", "statement safe to re-run",
                    "A migration stopped halfway can run again: its statements before the last are idempotent", _W),
    CheckDefinition("DM101", "lint", "data migration inside a DDL migration",
                    "No UPDATE/DELETE/INSERT ... SELECT on a pre-existing table shares a migration with DDL", _W),
    # data: bounded, read-only probes of production's rows (gate/data_probe.py)
    CheckDefinition("DP101", "data", "new unique key over duplicates", "No existing rows collide on a new UNIQUE or PRIMARY KEY"),
    CheckDefinition("DP102", "data", "NOT NULL over NULLs", "No existing row is NULL in a column made NOT NULL"),
    CheckDefinition("DP103", "data", "foreign key over orphans", "Every existing row has the parent a new foreign key requires"),
    CheckDefinition("DP104", "data", "narrowing over values that do not fit", "Every existing value fits the narrower type"),
    CheckDefinition("DP105", "data", "ENUM/SET value in use removed", "No existing row uses an ENUM/SET value that is removed"),
    CheckDefinition("DP106", "data", "CHECK over violating rows", "Every existing row satisfies a new CHECK constraint"),
    # ddl: what the engine does with each ALTER of a pre-existing table, on a copy (gate/ddl_probe.py)
    CheckDefinition("OD101", "ddl", "lock level and algorithm",
                    "The algorithm and lock the engine takes for the statement, found by trying it on a copy", _I),
    CheckDefinition("OD102", "ddl", "explicit ALGORITHM/LOCK accepted", "The statement's own ALGORITHM/LOCK clause is one the engine accepts"),
    CheckDefinition("OD103", "ddl", "duration and write stall",
                    "Measured on the seeded copy with a concurrent writer, and scaled to production's size", _I),
    CheckDefinition("OD104", "ddl", "metadata lock granted",
                    "The statement got its metadata lock within lock_wait_timeout (no transaction holds the table)"),
    # policy: what may run on production natively (gate/ddl_probe.py)
    CheckDefinition("PL101", "policy", "no write-blocking DDL on a large table",
                    "No statement copies or blocks writes on a table above the size threshold, unless annotated"),
    # rehearsal: the copy of production the migrations are rehearsed on (gate/clone.py)
    CheckDefinition("RH101", "rehearsal", "copy production's schema",
                    "Production's tables, keys, views, triggers, routines and events copied into a scratch database, "
                    "equal to production's by fingerprint and table options"),
    CheckDefinition("RH102", "rehearsal", "rehearsal server",
                    "Which server the rehearsal runs on (embedded, staging or production's own); production is only read", _I),
    CheckDefinition("RH103", "rehearsal", "same server flavour",
                    "The rehearsal server is of production's flavour (MariaDB or MySQL)"),
    CheckDefinition("RH104", "rehearsal", "same server version",
                    "The rehearsal server runs production's major.minor version", _W),
    CheckDefinition("RH105", "rehearsal", "rehearsal off production's server",
                    "The rehearsal did not run on production's own server (an explicit opt-in)", _W),
    CheckDefinition("RH106", "rehearsal", "verdict reused",
                    "Fleets: the host's rehearsal was run once for every host of the batch with the same schema "
                    "fingerprint, pending set and settings, by the host it names", _I),
    # seed: synthetic rows (gate/seeder.py)
    CheckDefinition("SD101", "seed", "seed rows", "FK-consistent synthetic rows generated, parents first"),
    # migrate: the pending migrations applied to the rehearsal copy (migrate/runner.py)
    CheckDefinition("MG101", "migrate", "migration applies", "The migration applies on the rehearsal copy with the deploy's runner"),
    # verify: the resulting schema (gate/schema_verify.py)
    CheckDefinition("SV101", "verify", "structure", "The table is exactly as the structure file records it"),
    CheckDefinition("SV102", "verify", "tenant column",
                    "The tenant column is NOT NULL, references the tenant table with its rule and leads an index"),
    CheckDefinition("SV103", "verify", "foreign key rule", "The column's foreign key references the table with the ON DELETE rule promised"),
    CheckDefinition("SV104", "verify", "unique key", "The unique key exists on exactly the columns promised"),
    CheckDefinition("SV105", "verify", "index", "The index exists on exactly the columns promised"),
    CheckDefinition("SV106", "verify", "enum values", "The ENUM has exactly the values promised, in order"),
    CheckDefinition("SV107", "verify", "JSON column", "The column is JSON (validated by the server)"),
    CheckDefinition("SV108", "verify", "soft delete", "The soft-delete column is a nullable timestamp"),
    CheckDefinition("SV109", "verify", "polymorphic pair", "The <name>_type/<name>_id pair exists and leads an index"),
    CheckDefinition("SV110", "verify", "verify query", "A query of the verify SQL file returns its expected result"),
    CheckDefinition("SV111", "verify", "primary key", "Every table has a primary key (replication and online DDL need one)"),
    CheckDefinition("SV112", "verify", "foreign key indexed", "Every foreign key leads an index"),
    CheckDefinition("SV113", "verify", "one collation", "All tables use the same collation"),
    CheckDefinition("SV114", "verify", "expectations file given",
                    "An expectations file was given; without one the structure and rule checks are reported as skipped", _I),
    CheckDefinition("SV115", "verify", "no drift from the structure file",
                    "Every table the migrations create or alter is recorded in the structure file"),
    CheckDefinition("SV116", "verify", "verify SQL file given",
                    "A verify SQL file was given; without one its queries are reported as skipped", _I),
    # integrity: proofs on seeded rows (gate/integrity.py)
    CheckDefinition("IN101", "integrity", "ON DELETE rule", "Deleting a parent does what the foreign key's rule says"),
    CheckDefinition("IN102", "integrity", "no orphans", "No child row references a missing parent"),
    CheckDefinition("IN103", "integrity", "unique key rejects duplicates", "Inserting a duplicate of an existing key is refused"),
    # benchmark: critical queries (gate/benchmark.py)
    CheckDefinition("BM101", "benchmark", "query within threshold",
                    "The query's p95 is under its threshold and its plan uses the expected index"),
    CheckDefinition("BM102", "benchmark", "benchmark file given",
                    "A benchmark file was given; without one the query benchmarks are reported as skipped", _I),
    # rollback: every migration rolls back and re-applies (gate/rollback_safety.py)
    CheckDefinition("RB101", "rollback", "step-by-step migrate", "The migrations apply one at a time"),
    CheckDefinition("RB102", "rollback", "step-by-step rollback",
                    "Undoing one migration at a time gives back each earlier state exactly"),
    CheckDefinition("RB103", "rollback", "rollback in dependency order", "Every down runs, newest first, without an error"),
    CheckDefinition("RB104", "rollback", "full rollback", "Rolling everything back restores the pre-migration schema exactly"),
    CheckDefinition("RB105", "rollback", "objects cleaned up", "No foreign key, index or table of the migrations remains after rollback"),
    CheckDefinition("RB106", "rollback", "pre-existing rows unchanged", "Migrate and rollback leave the rows of pre-existing tables as they were"),
    CheckDefinition("RB107", "rollback", "re-migration", "Migrating again gives the first post-migration schema exactly"),
    CheckDefinition("RB108", "rollback", "data after re-migration", "Rows can be inserted into the re-created tables"),
    CheckDefinition("RB109", "rollback", "unique keys after re-migration", "The re-created tables' unique keys reject duplicates"),
    CheckDefinition("RB110", "rollback", "ON DELETE rules after re-migration", "The re-created tables' foreign-key rules hold"),
    CheckDefinition("RB111", "rollback", "idempotency", "A second migrate has nothing to do"),
    CheckDefinition("RB112", "rollback", "partial rollback, selective re-migration",
                    "Rolling back some migrations keeps the rest's rows; migrating again converges"),
    CheckDefinition("RB113", "rollback", "rollback scenarios completed", "The rollback scenarios ran to the end"),
    # gate: the run as a whole (roles/gate)
    CheckDefinition("GT101", "gate", "gate completed", "Every step of the gate ran"),
    # smoke: production after the deploy, and after an emergency rollback (deploy/smoke.py)
    CheckDefinition("SM101", "smoke", "expected tables exist", "The tables the migrations create exist on production"),
    CheckDefinition("SM102", "smoke", "foreign keys in place", "Their foreign keys have the expected ON DELETE rules"),
    CheckDefinition("SM103", "smoke", "quick query", "A SELECT on each of those tables answers"),
    CheckDefinition("SM104", "smoke", "schema equals the expected fingerprint",
                    "Production's schema is exactly the one expected (the rehearsal's, or the pre-deploy one)"),
    CheckDefinition("SM105", "smoke", "rolled-back tables are gone", "None of the rolled-back migrations' tables remain"),
    CheckDefinition("SM106", "smoke", "no server errors", "The server logged no error since the deploy started"),
)

CHECKS: Dict[str, CheckDefinition] = {d.code: d for d in _DEFINITIONS}


def definition(code: str) -> CheckDefinition:
    """The registered check ``code``; KeyError for an unknown code."""
    return CHECKS[code]


def group_rank(group: str) -> int:
    return GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)
