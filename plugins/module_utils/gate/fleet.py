"""Fleets: one rehearsal per distinct (schema, pending set), verdicts reused, rehearsal servers shared by slot.

Every host of a gate play (a batch, under ``serial``) describes what its rehearsal would be: production's
database name, its schema fingerprint, the pending migrations with their checksums, and a ``context``: a digest
of everything else the rehearsal reads (the gate's settings, production's flavour and version, the size class of
the tables an ALTER touches). Hosts whose key is equal are rehearsed once, by the first of them (the
**representative**); the others reuse its verdict. The database name joins the key only when a pending migration
names it (``USE``, qualified names): otherwise it does not change what the migrations do.

The copy on a rehearsal server bears production's database name, so two representatives with the same name
cannot share one server: the k-th representative with a name takes **slot** k, and each slot in use gets a server
of its own (the first host of the slot provides it). A configured staging server cannot be multiplied: two
representatives with the same name on the same staging server are a collision, which the gate refuses.

Pure functions, no I/O: the gate's filter ``schemagate.mysql.fleet_plan`` calls :func:`plan_fleet`.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..core.checks import CheckResult
from ..core.errors import SchemagateError

EMBEDDED_SERVER = "embedded"  # the server key of hosts that rehearse on an embedded server (one per machine and slot)
# A staging server (schemagate_rehearsal_mode: server) is "server:<identity>": one copy per database name there.
# Anything else (production's own server, whose copies have names of their own) needs no slots.
STAGING_PREFIX = "server:"


@dataclass(frozen=True)
class PendingMigration:
    name: str
    checksum: str  # of the up and the down: a rollback scenario runs both
    names_database: bool = False  # its text names production's database: the name changes what it does
    server_wide: bool = False  # it acts on the server itself (users, grants, databases, globals): a server of its own


@dataclass(frozen=True)
class FleetMember:
    host: str
    database: str
    fingerprint: str  # production's schema fingerprint (bookkeeping tables left out)
    pending: Tuple[PendingMigration, ...]
    context: str = ""  # digest of the rest the rehearsal depends on (settings, server, sizes)
    server: str = EMBEDDED_SERVER  # which rehearsal server: embedded, or the staging/production server's identity
    machine: str = "controller"  # where an embedded server would run (hosts on one machine share it)
    isolated: bool = False  # asked for an embedded server of its own (gate_fleet_isolate)
    keep: bool = False  # gate_keep_scratch: its server stays after the run (so it is its own)

    @property
    def alone(self) -> bool:
        """Rehearsed on an embedded server of its own: asked to, kept for debugging, or a pending migration acts on
        the whole server."""
        return self.isolated or self.keep or any(m.server_wide for m in self.pending)

    @property
    def key(self) -> str:
        """Equal keys: equal rehearsals. The name counts only when a pending migration names the database."""
        named = any(m.names_database for m in self.pending)
        parts = [self.fingerprint, self.context, self.server, self.database if named else ""]
        parts += [f"{m.name}\0{m.checksum}" for m in self.pending]
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class HostPlan:
    host: str
    representative: str  # the host that rehearses for this one (itself when it rehearses)
    slot: int  # the representative's slot: k-th representative with this database name on its server
    group: str  # the key, shortened: hosts of one group share a verdict
    server_key: str  # which rehearsal server the representative uses (embedded servers: machine and slot)
    collision: str = ""  # server mode: another representative with this database name on the same staging server

    @property
    def rehearses(self) -> bool:
        return self.representative == self.host

    def as_dict(self) -> Dict[str, Any]:
        return {"host": self.host, "representative": self.representative, "slot": self.slot, "group": self.group,
                "server_key": self.server_key, "rehearses": self.rehearses, "reused": not self.rehearses,
                "collision": self.collision}


@dataclass(frozen=True)
class EmbeddedServer:
    """One embedded rehearsal server to start: its machine, its slot, and the host that provides it."""
    key: str
    machine: str
    slot: int
    provider: str
    hosts: Tuple[str, ...]  # the representatives rehearsing on it
    keep: bool = False  # left running after the run (gate_keep_scratch of its host)

    def as_dict(self) -> Dict[str, Any]:
        return {"key": self.key, "machine": self.machine, "slot": self.slot, "provider": self.provider,
                "hosts": list(self.hosts), "keep": self.keep}


@dataclass(frozen=True)
class FleetPlan:
    hosts: Tuple[HostPlan, ...]
    embedded_servers: Tuple[EmbeddedServer, ...]
    groups: int = field(default=0)

    def sharing(self, representative: str) -> List[str]:
        """The hosts whose verdict ``representative``'s rehearsal gives (itself first)."""
        return [h.host for h in self.hosts if h.representative == representative]

    def check(self, host: str) -> Optional[CheckResult]:
        """RH106 for a host that shares a rehearsal (None for a host rehearsed for itself alone)."""
        plan = next(h for h in self.hosts if h.host == host)
        sharing = self.sharing(plan.representative)
        if len(sharing) < 2:
            return None
        figures = {"representative": plan.representative, "group": plan.group, "slot": plan.slot, "hosts": sharing,
                   "rehearsals": sum(1 for h in self.hosts if h.rehearses), "batch_hosts": len(self.hosts)}
        if plan.rehearses:
            return CheckResult("RH106", "rehearsed for the fleet", True,
                               f"rehearsed once for {len(sharing)} hosts with the same fingerprint and pending set: "
                               + ", ".join(sharing), subject=host, figures=figures)
        return CheckResult("RH106", "verdict reused", True,
                           f"verdict reused from {plan.representative}: same fingerprint and pending set",
                           subject=plan.representative, figures=figures)

    def as_dict(self) -> Dict[str, Any]:
        checks = {h.host: self.check(h.host) for h in self.hosts}
        return {
            "hosts": {h.host: {**h.as_dict(), "checks": [checks[h.host].as_dict()] if checks[h.host] else []}
                      for h in self.hosts},
            "embedded_servers": [s.as_dict() for s in self.embedded_servers],
            "groups": self.groups,
            "rehearsals": sum(1 for h in self.hosts if h.rehearses),
        }


def plan_fleet(members: Sequence[FleetMember]) -> FleetPlan:
    """Each host's representative and slot, and the embedded servers to start (in the members' order)."""
    seen_hosts = set()
    representative_of: Dict[str, str] = {}  # key -> the first host with it
    slot_of: Dict[str, int] = {}  # representative host -> slot
    taken: Dict[Tuple[str, str], List[str]] = {}  # (server place, database) -> representatives, in order
    for member in members:
        if member.host in seen_hosts:
            raise SchemagateError(f"Fleet plan: host {member.host!r} is listed twice.")
        seen_hosts.add(member.host)
        key = member.key
        if key in representative_of:
            continue
        representative_of[key] = member.host
        place = _place(member)
        holders = taken.setdefault((place, member.database.lower()), [])
        slot_of[member.host] = len(holders)
        holders.append(member.host)
    by_host = {m.host: m for m in members}
    plans: List[HostPlan] = []
    for member in members:
        representative = representative_of[member.key]
        rep = by_host[representative]
        slot = slot_of[representative]
        holders = taken[(_place(rep), rep.database.lower())]
        collision = ""
        if rep.server.startswith(STAGING_PREFIX) and slot > 0:
            collision = holders[0]
        plans.append(HostPlan(
            host=member.host, representative=representative, slot=slot, group=member.key[:12],
            server_key=_server_key(rep, slot), collision=collision,
        ))
    servers: Dict[str, List[str]] = {}
    for plan in plans:
        if plan.rehearses and by_host[plan.host].server == EMBEDDED_SERVER:
            servers.setdefault(plan.server_key, []).append(plan.host)
    embedded = tuple(
        EmbeddedServer(key=key, machine=by_host[hosts[0]].machine, slot=slot_of[hosts[0]], provider=hosts[0],
                       hosts=tuple(hosts), keep=any(by_host[h].keep for h in hosts))
        for key, hosts in servers.items()
    )
    return FleetPlan(hosts=tuple(plans), embedded_servers=embedded, groups=len(representative_of))


def _place(member: FleetMember) -> str:
    if member.server != EMBEDDED_SERVER:
        return member.server
    return f"embedded@{member.machine}" + (f"/{member.host}" if member.alone else "")


def _server_key(member: FleetMember, slot: int) -> str:
    return f"{_place(member)}#{slot}"


_FIELDS = ("host", "database", "fingerprint", "pending")


def member_from_dict(data: Mapping[str, Any]) -> FleetMember:
    """A member as the gate describes it (a dict per host); bad input is one clear line."""
    if not isinstance(data, Mapping):
        raise SchemagateError(f"Fleet plan: each host is a mapping, not {type(data).__name__}.")
    missing = [name for name in _FIELDS if data.get(name) in (None, "") and name != "pending"]
    if missing or "pending" not in data:
        raise SchemagateError(f"Fleet plan: host {data.get('host', '?')!r} lacks {', '.join(missing or ['pending'])}.")
    pending = data["pending"]
    if not isinstance(pending, (list, tuple)):
        raise SchemagateError(f"Fleet plan: host {data['host']!r}: pending must be a list of migrations.")
    migrations = []
    context = str(data.get("context") or "")
    if data.get("ddl"):
        context += "\0" + ddl_class(data["ddl"])
    for item in pending:
        if not isinstance(item, Mapping) or not item.get("name") or not item.get("checksum"):
            raise SchemagateError(f"Fleet plan: host {data['host']!r}: each pending migration needs a name and a checksum.")
        migrations.append(PendingMigration(str(item["name"]), str(item["checksum"]), bool(item.get("names_database")),
                                           bool(item.get("server_wide"))))
    return FleetMember(
        host=str(data["host"]), database=str(data["database"]), fingerprint=str(data["fingerprint"]),
        pending=tuple(migrations), context=context,
        server=str(data.get("server") or EMBEDDED_SERVER), machine=str(data.get("machine") or "controller"),
        isolated=bool(data.get("isolated")), keep=bool(data.get("keep")),
    )


def plan_from_dicts(members: Iterable[Mapping[str, Any]]) -> Dict[str, Any]:
    return plan_fleet([member_from_dict(m) for m in members]).as_dict()


def ddl_class(ddl: Mapping[str, Any]) -> str:
    """What the online-DDL prediction reads of production, in classes rather than figures.

    ``ddl`` is ``{altered_tables, production, threshold_rows, threshold_bytes}`` (the lint step's results and the
    PL101 thresholds). Per altered table: whether it is above a threshold (PL101 blocks a copying or write-locking
    statement there), whether it has rows, and its row format; and production's variables. Two hosts of one class
    get the same OD101/OD102/PL101 verdicts; the OD103 durations reported are the representative's."""
    if not isinstance(ddl, Mapping):
        raise SchemagateError(f"Fleet plan: ddl must be a mapping, not {type(ddl).__name__}.")
    production = ddl.get("production") or {}
    tables = production.get("tables") or {}
    try:
        rows_limit, bytes_limit = int(ddl.get("threshold_rows", 0)), int(ddl.get("threshold_bytes", 0))
        classes = []
        for name in sorted(str(t) for t in ddl.get("altered_tables") or ()):
            table = tables.get(name) or {}
            size = int(table.get("data_bytes") or 0) + int(table.get("index_bytes") or 0)
            large = int(table.get("rows") or 0) >= rows_limit or size >= bytes_limit
            classes.append(f"{name}:{'large' if large else 'small'}:{bool(table.get('has_rows'))}:"
                           f"{str(table.get('row_format') or '').upper()}")
    except (TypeError, ValueError):
        raise SchemagateError("Fleet plan: the ddl sizes and thresholds must be numbers.") from None
    variables = production.get("variables") or {}
    classes += [f"{k}={variables[k]}" for k in sorted(variables)]
    return "\n".join(classes)


# What a pending migration contributes to the key (used by the preflight module).

def migration_checksum(up_checksum: str, down_sql: Optional[Sequence[str]]) -> str:
    """The up's checksum and the down's text: equal for two hosts only when both directions are the same."""
    digest = hashlib.sha256(up_checksum.encode("utf-8"))
    if down_sql is None:
        digest.update(b"\0irreversible")
    for statement in down_sql or ():
        digest.update(b"\0" + statement.encode("utf-8"))
    return digest.hexdigest()


def names_database(texts: Iterable[str], database: str) -> bool:
    """Whether any text names ``database`` as an identifier (``USE db``, ```db`.t``, ``db.t``), case-insensitively."""
    pattern = re.compile(r"(?<![\w$])" + re.escape(database) + r"(?![\w$])", re.IGNORECASE)
    return any(pattern.search(text) for text in texts)


# Statements whose effect is the server's, not one database's: on a shared rehearsal server they would meet the
# other rehearsals (a user created twice, a database dropped under another copy, a global changed for all).
_SERVER_WIDE = re.compile(
    r"^\s*(?:(?:CREATE|DROP|ALTER|RENAME)\s+(?:USER|ROLE|DATABASE|SCHEMA|SERVER)\b|GRANT\b|REVOKE\b|FLUSH\b|"
    r"INSTALL\b|UNINSTALL\b|SET\s+(?:GLOBAL|PERSIST|PASSWORD|DEFAULT\s+ROLE)\b|SET\s+@@GLOBAL\b|SHUTDOWN\b|KILL\b)",
    re.IGNORECASE,
)


def server_wide(texts: Iterable[str]) -> bool:
    """Whether any statement acts on the server rather than on its database (users, grants, databases, globals)."""
    return any(_SERVER_WIDE.search(_strip_comments(text)) for text in texts)


def _strip_comments(text: str) -> str:
    return re.sub(r"^(?:\s*(?:--[^\n]*\n|#[^\n]*\n|/\*.*?\*/))*", "", text + "\n", flags=re.S)


def describe_pending(migrations: Iterable[Any], database: str) -> List[Dict[str, Any]]:
    """What the fleet plan needs of each pending migration: name, checksum (up and down), whether it names ``database``.

    ``migrations`` are :class:`~..migrate.migration.Migration` objects (read through ``name``, ``checksum``, ``up``
    and ``down``, whose statements have ``sql``)."""
    described = []
    for migration in migrations:
        up = [s.sql for s in migration.up]
        down = None if migration.down is None else [s.sql for s in migration.down]
        described.append({
            "name": migration.name,
            "checksum": migration_checksum(migration.checksum, down),
            "names_database": names_database(up + (down or []), database),
            "server_wide": server_wide(up + (down or [])),
        })
    return described
