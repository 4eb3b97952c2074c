"""Check mode predicts `changed` from the server's state, through Ansible as the roles call the modules."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers import REPO, create_database, drop_database

from plugins.module_utils.core.scratch import create_scratch, drop_scratch, scratch_name


def _check_mode(module: str, args: str) -> dict:
    bin_dir = os.path.dirname(sys.executable)
    result = subprocess.run(
        [os.path.join(bin_dir, "ansible"), "localhost", "--check", "-m", f"schemagate.mysql.{module}", "-a", args],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                 ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal", ANSIBLE_CALLBACK_RESULT_FORMAT="json", PATH=f"{bin_dir}:{os.environ['PATH']}"),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return json.loads(result.stdout.split("=>", 1)[1])  # minimal: "localhost | CHANGED => {...}"


def test_dropping_a_copy_is_a_change_only_when_it_exists_and_seeding_when_rows_are_planned(admin, sandbox_cfg):
    production = create_database(admin, with_base_tables=False)
    copy = scratch_name(production, "check", "run1")
    try:
        base = f"config_file={sandbox_cfg.admin_cnf} database={production} scratch_database={copy} run_id=run1"
        assert _check_mode("clone", base + " state=absent")["changed"] is False
        create_scratch(admin, production, copy, "run1")
        assert _check_mode("clone", base + " state=absent")["changed"] is True
        with admin.cursor() as cur:
            cur.execute(f"SHOW DATABASES LIKE '{copy}'")
            assert cur.fetchone() is not None  # check mode dropped nothing
        seeded = _check_mode("seed", f"config_file={sandbox_cfg.admin_cnf} database={copy} default_rows=0")
        assert seeded["changed"] is False
    finally:
        drop_scratch(admin, production, copy, "run1")
        drop_database(admin, production)
