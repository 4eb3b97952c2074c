"""Where the rehearsal happens: which server, and whether it can stand in for production.

The gate rehearses on a server of its own (the embedded throwaway instance, or a configured
staging server); production is only read. This module compares the two servers: a different
flavour (MariaDB against MySQL) blocks, a different major.minor version warns, and rehearsing
on production's own server (an explicit opt-in) is reported as a warning on every run.
"""
from __future__ import annotations

from typing import List

from ..core.checks import CheckResult
from ..core.dialect import ServerInfo

EMBEDDED, SERVER, PRODUCTION_SERVER = "embedded", "server", "production_server"
MODES = (EMBEDDED, SERVER, PRODUCTION_SERVER)


def compare_servers(mode: str, production: ServerInfo, rehearsal: ServerInfo, where: str) -> List[CheckResult]:
    """RH102 (where), RH103 (flavour, blocks), RH104 (version, warns), RH105 (production's own server, warns)."""
    results = [CheckResult(
        "RH102", "rehearsal server", True, f"{mode}: {where} ({rehearsal.label}); production is only read",
        figures={"mode": mode, "server": rehearsal.label, "version": rehearsal.version_string},
    )]
    same_flavour = production.flavor == rehearsal.flavor
    results.append(CheckResult(
        "RH103", "same server flavour", same_flavour,
        f"both {production.label.split()[0]}" if same_flavour
        else f"production runs {production.label}, the rehearsal server {rehearsal.label}: a rehearsal on another "
             "flavour proves nothing; use a staging server of production's flavour (schemagate_rehearsal_mode: server)",
        figures={"production": production.label, "rehearsal": rehearsal.label},
    ))
    if same_flavour:
        same_version = production.version[:2] == rehearsal.version[:2]
        results.append(CheckResult(
            "RH104", "same server version", same_version,
            f"both {'.'.join(map(str, production.version[:2]))}" if same_version
            else f"production runs {production.label}, the rehearsal server {rehearsal.label}: DDL algorithms, "
                 "defaults and plans may differ",
            figures={"production": production.version_string, "rehearsal": rehearsal.version_string},
        ))
    if mode == PRODUCTION_SERVER:
        results.append(CheckResult(
            "RH105", "rehearsal off production's server", False,
            "WARNING: the rehearsal ran ON PRODUCTION'S OWN SERVER (schemagate_rehearsal_mode: production_server), "
            "in scratch databases with sql_log_bin=0: it loads production, and a migration naming production's "
            "database reaches it",
        ))
    return results
