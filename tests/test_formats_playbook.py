"""A team's own format through playbooks/migrate.yml: the inventory variables reach the module."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers import REPO

BIN = os.path.dirname(sys.executable)
GOOSE = os.path.join(REPO, "tests", "corpus", "goose")


def playbook(vars_file, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1", PATH=f"{BIN}:{os.environ['PATH']}")
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/migrate.yml", "-e", f"@{vars_file}", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout


def goose_rows(admin, database):
    with admin.cursor() as cur:
        cur.execute(f"SELECT version_id FROM `{database}`.goose_db_version ORDER BY id")
        return [row[0] for row in cur.fetchall()]


def test_goose_files_migrate_roll_back_and_baseline_through_the_playbook(database, admin, tmp_path):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"schemagate_database": database, "schemagate_migrations_dir": GOOSE,
                                     "schemagate_migrations_format": "goose", "schemagate_sql_mode": "mysql8"}))
    out = playbook(str(vars_file))
    assert "(goose files, history in goose_db_version)" in out and "20250301120700_note_release_2" in out
    assert len(goose_rows(admin, database)) == 9  # goose's initial 0 row + eight versions
    playbook(str(vars_file), "-e", "migrate_command=rollback", "-e", "migrate_rollback_steps=8")
    assert goose_rows(admin, database) == [0]
    with admin.cursor() as cur:  # the schema is back to no corpus table; record it as the tool's baseline instead
        cur.execute(f"DELETE FROM `{database}`.goose_db_version")
    out = playbook(str(vars_file), "-e", "migrate_command=baseline", "-e", "migrate_baseline_version=20250301120100")
    assert "baselined: 20250301120000_create_publishers_and_books, 20250301120100_extend_books" in out
    assert goose_rows(admin, database) == [20250301120000, 20250301120100]
    out = playbook(str(vars_file), "-e", "migrate_command=status")
    assert "applied | 20250301120100_extend_books | - | " in out and "pending | 20250301120200_create_reviews | - | " in out
