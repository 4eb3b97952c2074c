"""Lock level, algorithm, duration and policy of each ALTER, found on the engine (the sandbox's MariaDB).

The functions run against copies of a production-like database made on the sandbox server, as the
gate makes them of its seeded rehearsal copy. Production's size is given as larger than the copy, so
scaling and the size policy are exercised; every answer asserted is the engine's, never a timing.
"""
from __future__ import annotations

import uuid

import pytest

from helpers import create_production, drop_database

from plugins.module_utils.core.connection import connect
from plugins.module_utils.gate import ddl_probe
from plugins.module_utils.gate.lint import finish
from plugins.module_utils.gate.statement_walk import facts_of, read_catalog, walk
from plugins.module_utils.migrate.migration_files import load_migrations

GIB = 1 << 30


@pytest.fixture(scope="module")
def prod(admin):
    name = create_production(admin)
    yield name
    drop_database(admin, name)


def probe(admin, sandbox_cfg, prod, tmp_path, up, variables=None, blocker=None, **settings):
    """Probe one migration whose up file is ``up``; production is said to hold 5 million appointments (3 GiB)."""
    folder = tmp_path / f"m{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / "2025_12_02_000001_change.up.sql").write_text(up)
    (folder / "2025_12_02_000001_change.down.sql").write_text("SELECT 1;\n")
    migrations = load_migrations(str(folder))
    conn = connect(sandbox_cfg.admin_params())  # its own session: the probe sets session variables
    try:
        from plugins.module_utils.core.dialect import detect_server
        server = detect_server(conn)
        catalog = read_catalog(conn, prod, server)
        tables = facts_of(catalog)
        tables["appointments"].update(rows=5_000_000, has_rows=True, data_bytes=3 * GIB, index_bytes=0)
        production = {"tables": tables, "variables": variables or {}}
        copies = ddl_probe.prepare_copies(conn, prod, prod, uuid.uuid4().hex[:8], ddl_probe.altered_tables(migrations, catalog),
                                          tables)
        try:
            if blocker is not None:
                blocker(copies)
            results, predictions = ddl_probe.probe_migrations(
                conn, server, copies, migrations, production, ddl_probe.ProbeSettings(**settings),
                lambda: connect(sandbox_cfg.admin_params()))
        finally:
            ddl_probe.drop_copies(conn, copies)
        results = finish(results, walk(migrations, catalog), judged_groups=("ddl", "policy"))
    finally:
        conn.close()
    by_code = {}
    for result in results:
        by_code.setdefault(result.code, {})[result.figures.get("line")] = result
    return by_code, predictions


def test_instant_in_place_rebuild_and_copy_are_found_measured_and_scaled(admin, sandbox_cfg, prod, tmp_path):
    by_code, predictions = probe(admin, sandbox_cfg, prod, tmp_path, """\
ALTER TABLE appointments ADD COLUMN source VARCHAR(20) NULL;
ALTER TABLE appointments ADD INDEX appointments_status_index (status);
ALTER TABLE appointments FORCE;
ALTER TABLE appointments MODIFY customer_id BIGINT NULL;
""")
    kinds = {line: result.figures["kind"] for line, result in by_code["OD101"].items()}
    assert kinds == {1: "instant", 2: "in-place, no rebuild", 3: "in-place rebuild", 4: "copy"}
    assert [p.algorithm for p in predictions] == ["INSTANT", "NOCOPY", "INPLACE", "COPY"]
    assert [p.writes_blocked for p in predictions] == [False, False, False, True]
    copy = predictions[3]
    refused = [a["clause"] for a in copy.attempts if a["answer"].startswith("refused")]
    assert refused[0] == "ALGORITHM=INSTANT" and "Cannot change column type" in copy.attempts[0]["answer"]
    # On the seeded copy the engine reported every row copied; a writer ran against the table meanwhile.
    assert copy.affected_rows == copy.copy_rows > 0 and copy.max_write_stall_seconds is not None
    assert copy.predicted_seconds == round(ddl_probe.scale("copy", copy.measured_seconds, copy.copy_rows, copy.copy_bytes,
                                                           5_000_000, 3 * GIB), 3)
    assert "linear in data+index bytes" in by_code["OD103"][4].message
    assert predictions[0].predicted_seconds == round(predictions[0].measured_seconds, 3)  # instant: constant
    index = predictions[1]
    assert index.predicted_seconds == round(index.measured_seconds * 5_000_000 / index.copy_rows, 3)  # linear in rows
    assert by_code["PL101"][4].blocking and "blocks writes on appointments" in by_code["PL101"][4].message
    assert all(by_code["PL101"][line].passed for line in (1, 2, 3))


def test_a_clause_the_engine_refuses_fails_with_the_engines_answer(admin, sandbox_cfg, prod, tmp_path):
    by_code, _predictions = probe(admin, sandbox_cfg, prod, tmp_path, """\
ALTER TABLE appointments MODIFY status VARCHAR(100) NOT NULL DEFAULT 'pending', ALGORITHM=INSTANT;
ALTER TABLE appointments ADD COLUMN channel VARCHAR(10) NULL, ALGORITHM=INSTANT, LOCK=NONE;
""")
    refused = by_code["OD102"][1]
    assert refused.blocking and "ALGORITHM=INSTANT is not supported. Reason: Cannot change column type" in refused.message
    assert by_code["OD102"][2].passed


def test_production_settings_the_copy_cannot_share_change_the_answer(admin, sandbox_cfg, prod, tmp_path):
    by_code, predictions = probe(admin, sandbox_cfg, prod, tmp_path, """\
ALTER TABLE appointments ADD COLUMN source VARCHAR(20) NULL;
ALTER TABLE customers ADD COLUMN nickname VARCHAR(20) NULL, ALGORITHM=INPLACE;
""", variables={"alter_algorithm": "COPY"})
    added = predictions[0]
    assert added.kind == "copy" and added.writes_blocked
    assert any("alter_algorithm=COPY" in note for note in added.notes)
    assert added.affected_rows > 0  # the engine, with production's session setting, really copied
    assert predictions[1].kind != "copy"  # an explicit ALGORITHM=INPLACE is honoured


def test_a_statement_behind_an_open_transaction_fails_fast_naming_the_blocker(admin, sandbox_cfg, prod, tmp_path):
    holder = connect(sandbox_cfg.admin_params())
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            holder_id = cur.fetchone()[0]

        def hold(copies):
            holder.begin()
            with holder.cursor() as cur:  # a metadata lock on the copy's table until the transaction ends
                cur.execute(f"SELECT COUNT(*) FROM `{copies.probe}`.appointments")
                cur.fetchall()

        by_code, _predictions = probe(admin, sandbox_cfg, prod, tmp_path, """\
ALTER TABLE appointments ADD COLUMN source VARCHAR(20) NULL;
ALTER TABLE appointments ADD INDEX appointments_status_index (status);
""", blocker=hold, lock_wait_timeout=1)
    finally:
        holder.rollback()
        holder.close()
    blocked = by_code["OD104"][1]
    assert blocked.blocking and "lock_wait_timeout=1s" in blocked.message
    assert f"connection {holder_id}" in blocked.message
    assert "not predicted: the copy was locked" in by_code["OD101"][2].message


def test_the_size_policy_and_its_annotations(admin, sandbox_cfg, prod, tmp_path):
    up = """\
-- schemagate:allow PL101 maintenance window OPS-9, writes stopped
ALTER TABLE appointments MODIFY customer_id BIGINT NULL;
-- schemagate:alter-wrapper 5 million rows: copy online
ALTER TABLE appointments MODIFY service_id BIGINT NULL;
ALTER TABLE customers MODIFY company_id BIGINT NULL;
"""
    by_code, _predictions = probe(admin, sandbox_cfg, prod, tmp_path, up, alter_wrapper=True)
    assert by_code["PL101"][2].verdict == "waived" and by_code["PL101"][2].figures["allowed"].startswith("maintenance")
    assert by_code["PL101"][4].passed and "runs through the alter wrapper" in by_code["PL101"][4].message
    assert by_code["PL101"][5].passed and "under the threshold" in by_code["PL101"][5].message  # customers is small
    unwrapped, _predictions = probe(admin, sandbox_cfg, prod, tmp_path, up, alter_wrapper=False)
    assert unwrapped["PL101"][4].blocking and "none is configured" in unwrapped["PL101"][4].message


def test_a_statement_naming_another_database_is_never_run_on_the_copies(admin, sandbox_cfg, prod, tmp_path):
    before = ddl_probe_definition(admin, prod)
    by_code, predictions = probe(admin, sandbox_cfg, prod, tmp_path, f"""\
ALTER TABLE `{prod}`.appointments ADD COLUMN hijack INT NULL;
ALTER TABLE appointments ADD COLUMN source VARCHAR(20) NULL;
""")
    assert ddl_probe_definition(admin, prod) == before  # the copies share this server with "production"
    assert f"names database {prod}" in by_code["OD101"][1].message and predictions == []
    assert "not predicted" in by_code["OD101"][2].message


def ddl_probe_definition(admin, database):
    with admin.cursor() as cur:
        cur.execute(f"SHOW CREATE TABLE `{database}`.appointments")
        return cur.fetchone()[1]
