"""The backup manifest as a dataclass: today's JSON keys exactly, validation naming the key, its state. No server."""
from __future__ import annotations

import json
import os

import pytest
import yaml

from plugins.module_utils.backup.backup_files import (
    BackupState,
    Manifest,
    TableFigures,
    latest_verified_manifest,
    load_manifest,
    prune_backups,
    summary,
    write_manifest,
    write_private_json,
)
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.core.schema_model import Schema

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def written_by_take_backup(verified: bool = False):
    """A manifest with every key take_backup writes, in its order."""
    with open(os.path.join(REPO, "expectations", "base_schema.yaml"), encoding="utf-8") as handle:
        tables = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return {
        "format": 1,
        "database": "askproai_db",
        "label": "20261124T130500Z",
        "server": {"flavor": "mariadb", "version": "10.11.6-MariaDB", "label": "MariaDB 10.11.6"},
        "dump_tool": {"name": "mariadb-dump", "path": "/usr/bin/mariadb-dump", "version": "mariadb-dump from 11.8.3-MariaDB"},
        "dump_options": ["--single-transaction", "--routines"],
        "compress_level": 1,
        "compressor": "isal",
        "started_utc": "2026-11-24T13:05:00+00:00",
        "finished_utc": "2026-11-24T13:05:09+00:00",
        "seconds": 9.125,
        "file": "askproai_db-20261124T130500Z.sql.gz",
        "size_bytes": 123456,
        "sha256": "ab" * 32,
        "estimate_bytes": 9999999,
        "consistency": {"figures": "COUNT(*) and CHECKSUM TABLE", "writes_paused_ms": 12.5},
        "dump_warnings": [],
        "migrations": {"migrations": [{"id": 1, "migration": "2025_10_01_060100_create_notification_configurations_table", "batch": 1}]},
        "generated_fk_indexes": {"customers": ["customers_company_id_foreign"]},
        "tables": {"companies": {"rows": 20, "checksum": 707070207}, "customers": {"rows": 50000, "checksum": None}},
        "schema": {
            "fingerprint": "f" * 64,
            "portable_fingerprint": "e" * 64,
            "structure": {"tables": tables, "views": {"active_customers": "select 1"}, "triggers": {}, "routines": {}},
        },
        "verified": verified,
        "verification": {"at_utc": "2026-11-24T13:05:30+00:00", "mismatches": []} if verified else None,
    }


@pytest.mark.parametrize("verified", [False, True])
def test_a_manifest_round_trips_to_the_same_json(verified):
    data = written_by_take_backup(verified)
    manifest = Manifest.from_dict(data)
    assert manifest.to_dict() == data
    assert json.dumps(manifest.to_dict(), indent=2) == json.dumps(data, indent=2)  # key order too
    assert manifest.state is (BackupState.VERIFIED if verified else BackupState.UNVERIFIED) and manifest.verified is verified
    assert isinstance(manifest.schema.structure, Schema) and manifest.tables["customers"] == TableFigures(50000, None)
    assert manifest.server_version == "10.11.6-MariaDB" and manifest.total_rows == 50020


def test_write_manifest_writes_what_write_private_json_wrote(tmp_path):
    data = written_by_take_backup()
    write_private_json(str(tmp_path / "as_dict.json"), data)
    write_manifest(str(tmp_path / "as_manifest.json"), Manifest.from_dict(data))
    assert (tmp_path / "as_manifest.json").read_bytes() == (tmp_path / "as_dict.json").read_bytes()
    assert oct(os.stat(tmp_path / "as_manifest.json").st_mode & 0o777) == "0o600"
    assert load_manifest(str(tmp_path / "as_manifest.json")) == Manifest.from_dict(data)


def test_keys_this_version_does_not_know_are_kept():
    data = {**written_by_take_backup(), "written_by": "schemagate 9.0"}
    assert Manifest.from_dict(data).to_dict() == data


def test_summary_leaves_the_structure_out():
    short = summary(Manifest.from_dict(written_by_take_backup(True)))
    assert "schema" not in short and short["schema_fingerprint"] == "f" * 64 and short["total_rows"] == 50020
    assert short["verified"] is True and short["tables"]["companies"] == {"rows": 20, "checksum": 707070207}


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d.pop("sha256") and d.pop("tables"), r"is incomplete \(missing sha256, tables\): it was not written by schemagate"),
        (lambda d: d.update(verified="yes"), r": verified must be true or false, found a string"),
        (lambda d: d["tables"]["customers"].update(rows="many"), r": tables\.customers must be \{rows: <count>, checksum: <number or null>\}"),
        (lambda d: d.update(format="1"), r": format must be a number, found a string"),
        (lambda d: d["schema"]["structure"]["tables"]["companies"]["columns"][0].pop("nullable"),
         r": schema\.structure: tables\.companies\.columns\[0\]\.nullable: missing; add it"),
    ],
    ids=["missing-keys", "verified-string", "rows-string", "format-string", "structure-key"],
)
def test_a_malformed_manifest_is_one_line_naming_the_key(tmp_path, change, expected):
    data = written_by_take_backup()
    change(data)
    path = tmp_path / "askproai_db-x.manifest.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SchemagateError, match=expected) as failure:
        load_manifest(str(path))
    assert str(path) in failure.value.message and "\n" not in failure.value.message


def test_not_a_manifest_at_all(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("[1, 2]")
    with pytest.raises(SchemagateError, match=r"is incomplete \(missing everything\)"):
        load_manifest(str(path))
    path.write_text("{")
    with pytest.raises(SchemagateError, match="is not valid JSON"):
        load_manifest(str(path))


def test_states_decide_retention_and_restore(tmp_path):
    for label, verified, finished in (("b1", True, "2026-11-20"), ("b2", False, "2026-11-21"), ("b3", True, "2026-11-22")):
        data = {**written_by_take_backup(verified), "label": label, "file": f"askproai_db-{label}.sql.gz", "finished_utc": finished}
        (tmp_path / f"askproai_db-{label}.sql.gz").write_bytes(b"dump")
        write_private_json(str(tmp_path / f"askproai_db-{label}.manifest.json"), data)
    assert latest_verified_manifest(str(tmp_path), "askproai_db") == str(tmp_path / "askproai_db-b3.manifest.json")
    assert prune_backups(str(tmp_path), "askproai_db", keep=1) == {
        "kept": [str(tmp_path / "askproai_db-b3.manifest.json")],
        "deleted": [str(tmp_path / "askproai_db-b1.manifest.json")],
        "unverified": [str(tmp_path / "askproai_db-b2.manifest.json")],
    }
