"""Backup files are plain gzip whichever compressor wrote them (ISA-L or zlib), and damage is detected."""
from __future__ import annotations

import gzip
import os

import pytest

from plugins.module_utils.core import compression


def _write_members(path: str, blocks: list, level: int) -> None:
    with open(path, "wb") as handle:
        for block in blocks:
            handle.write(compression.gzip_member(block, level))


@pytest.mark.parametrize("level", [0, 1, 3, 6])
def test_members_written_at_any_level_read_back_as_one_plain_gzip_file(tmp_path, level):
    blocks = [os.urandom(1000) + f"INSERT INTO `t{number}` VALUES (1,'a');\n".encode() * 2000 for number in range(3)]
    path = str(tmp_path / "dump.sql.gz")
    _write_members(path, blocks, level)
    with gzip.open(path, "rb") as handle:  # what gzip -d and zcat see
        assert handle.read() == b"".join(blocks)
    with compression.open_gzip(path) as handle:  # what the restore reads with
        assert handle.read() == b"".join(blocks)


def test_compressor_is_named_for_the_manifest():
    assert compression.compressor_name(6) == "zlib level 6"
    assert compression.compressor_name(0) == "zlib level 0"
    expected = "isal" if compression.uses_isal(1) else "zlib"
    assert compression.compressor_name(1) == f"{expected} level 1"


def test_isal_is_installed_by_the_project_requirements():
    # requirements.txt pins isal: without it backups still work, only slower, so make the loss visible here.
    assert compression.uses_isal(1)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_file_raises_one_of_the_read_errors(tmp_path, damage):
    path = str(tmp_path / "dump.sql.gz")
    _write_members(path, [b"SELECT 1;\n" * 50000], 1)
    with open(path, "rb") as handle:
        data = bytearray(handle.read())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    with open(path, "wb") as handle:
        handle.write(bytes(data))
    with pytest.raises(compression.READ_ERRORS):
        with compression.open_gzip(path) as handle:
            while handle.read(1 << 16):
                pass


def test_without_isal_every_level_falls_back_to_zlib(tmp_path, monkeypatch):
    # A host that runs the modules without the isal package still writes and reads the same gzip.
    monkeypatch.setattr(compression, "_isal_zlib", None)
    monkeypatch.setattr(compression, "_igzip", None)
    assert compression.compressor_name(1) == "zlib level 1"
    path = str(tmp_path / "dump.sql.gz")
    _write_members(path, [b"INSERT INTO `t` VALUES (1);\n" * 1000], 1)
    with compression.open_gzip(path) as handle:
        assert handle.read() == b"INSERT INTO `t` VALUES (1);\n" * 1000
