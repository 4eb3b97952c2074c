"""The gate runs with a read-only account on production (it rehearses on a server of its own);
a preflight names whatever privilege is missing."""
from __future__ import annotations

import json
import uuid

import pytest

from helpers import FAST_GATE, database_names, playbook, snapshot


@pytest.fixture
def account(admin):
    """Factory of throwaway accounts on 127.0.0.1 with the given grants; dropped afterwards."""
    made = []

    def create(*grants):
        user = "sg_" + uuid.uuid4().hex[:10]
        password = uuid.uuid4().hex
        with admin.cursor() as cur:
            cur.execute(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
            for grant in grants:
                cur.execute(grant.format(user=f"'{user}'@'127.0.0.1'"))
        made.append(user)
        return user, password

    yield create
    with admin.cursor() as cur:
        for user in made:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'127.0.0.1'")


def gate_as(sandbox_cfg, tmp_path, database, user, password, **extra):
    vars_file = tmp_path / "gate.json"
    vars_file.write_text(json.dumps({
        "schemagate_database": database,
        "schemagate_config_file": None,
        "schemagate_login_host": "127.0.0.1",
        "schemagate_login_port": sandbox_cfg.port,
        "schemagate_login_user": user,
        "schemagate_login_password": password,
        "gate_report_root": str(tmp_path / "reports"),
        **FAST_GATE,
        **extra,
    }))
    result = playbook("playbooks/gate.yml", extra_vars_file=str(vars_file))
    reports = sorted((tmp_path / "reports").glob("*/gate.json"))
    return result, " ".join(result.stdout.split()), json.loads(reports[-1].read_text()) if reports else None


def test_the_gate_needs_only_read_access_to_production(sandbox_cfg, admin, server, production, account, tmp_path):
    # Nothing but reads: no right to create, write or drop anything anywhere on production's server.
    user, password = account(
        f"GRANT SELECT, SHOW VIEW ON `{production}`.* TO {{user}}",
        "GRANT PROCESS ON *.* TO {user}",
    )
    before = snapshot(admin, server, production)
    databases = database_names(admin)
    result, flat, report = gate_as(sandbox_cfg, tmp_path, production, user, password)
    assert result.returncode == 0, flat[-3000:]
    assert report["passed"]
    assert snapshot(admin, server, production) == before
    assert database_names(admin) == databases
    checks = {c["code"]: c for c in report["checks"]}
    assert checks["RH102"]["figures"]["mode"] == "embedded" and checks["RH103"]["passed"] and checks["RH104"]["passed"]
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            assert password not in path.read_text()
    assert password not in result.stdout


def test_preflight_names_missing_privileges(sandbox_cfg, production, account, tmp_path):
    # Rehearsing on production's own server (an opt-in) needs scratch rights there and SET sql_log_bin = 0.
    user, password = account(f"GRANT SELECT ON `{production}`.* TO {{user}}")
    result, flat, report = gate_as(sandbox_cfg, tmp_path, production, user, password,
                                   schemagate_rehearsal_mode="production_server")
    assert result.returncode != 0
    assert "may not SET SESSION sql_log_bin = 0" in flat and "Traceback" not in result.stdout + result.stderr
    checks = {c["name"]: c for c in report["checks"]}
    assert not checks["privileges on production"]["passed"]
    assert "missing on " + production + ": SHOW VIEW" in checks["privileges on production"]["message"]
    assert not checks["privileges on scratch databases"]["passed"]
    assert "CREATE" in checks["privileges on scratch databases"]["details"]
    assert not checks["no long open transaction"]["passed"]  # without PROCESS, blockers cannot be named
    assert "grant PROCESS" in checks["no long open transaction"]["message"]
