"""A faithful copy: production and its copy, migrated side by side by the same runner, keep equal fingerprints.

The ALTER-heavy set below is the kind that used to tell the copy from production: a covering index over a
foreign key column (InnoDB drops the index it generated for the key, and only that one), a foreign key dropped
and added again, an unnamed foreign key, column type and character-set changes, renames of a column and a
table, a view over a view, a trigger and routines, and an event. The copy is made by the deploy account (the
objects' definer is the admin account), the backup restore is held to the same rule, and the whole gate passes
on a production that has a view.
"""
from __future__ import annotations

import json
import os
import uuid

import pytest

from helpers import FAST_GATE, MIGRATIONS_DIR, SCRATCH_PREFIX, app_fingerprint, create_production, drop_database, playbook

from plugins.module_utils.backup import backup, dump_restore
from plugins.module_utils.core.catalog import diff_tables, fingerprint, portable_schema, read_schema, read_tables
from plugins.module_utils.core.connection import ConnectionParams, connect
from plugins.module_utils.core.scratch import create_scratch, drop_scratch
from plugins.module_utils.gate.clone import clone_schema
from plugins.module_utils.migrate.migration_files import load_migrations
from plugins.module_utils.migrate.runner import MigrationRunner, RunnerSettings

PRODUCTION = [
    "CREATE TABLE companies (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL) ENGINE=InnoDB",
    # A named foreign key whose index InnoDB generates (the Laravel way: ->foreign() without ->index()).
    "CREATE TABLE customers (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, company_id BIGINT UNSIGNED NOT NULL,"
    " email VARCHAR(191) NULL, status VARCHAR(20) NOT NULL DEFAULT 'new',"
    " CONSTRAINT customers_company_id_foreign FOREIGN KEY (company_id) REFERENCES companies (id) ON DELETE CASCADE)"
    " ENGINE=InnoDB ROW_FORMAT=COMPACT COMMENT='people we serve'",
    # An unnamed foreign key (orders_ibfk_1, index `customer_id`) and a named one, both generated.
    "CREATE TABLE orders (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT UNSIGNED NOT NULL,"
    " company_id BIGINT UNSIGNED NOT NULL, amount INT NOT NULL, code VARCHAR(20) NULL,"
    " FOREIGN KEY (customer_id) REFERENCES customers (id),"
    " CONSTRAINT orders_company_fk FOREIGN KEY (company_id) REFERENCES companies (id)) ENGINE=InnoDB AUTO_INCREMENT=1000",
    # An index written by hand with its foreign key's name and columns: explicit, it must stay explicit.
    "CREATE TABLE notes (id INT PRIMARY KEY, customer_id BIGINT UNSIGNED NOT NULL, body VARCHAR(200) CHARACTER SET latin1 NULL,"
    " KEY notes_customer_fk (customer_id),"
    " CONSTRAINT notes_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)) ENGINE=InnoDB",
    "CREATE VIEW v_customers AS SELECT id, company_id, email FROM customers WHERE status <> 'gone'",
    # Sorts before the view it uses: the copy must find the order.
    "CREATE VIEW company_totals AS SELECT c.id, COUNT(*) AS customers FROM companies c JOIN v_customers v ON v.company_id = c.id GROUP BY c.id",
    "CREATE TRIGGER customers_bi BEFORE INSERT ON customers FOR EACH ROW SET NEW.email = LOWER(NEW.email)",
    "CREATE EVENT purge_gone ON SCHEDULE EVERY 1 DAY DO DELETE FROM customers WHERE status = 'gone'",
]
# Defined by the deploy account: another account's routine bodies need SHOW CREATE ROUTINE, which it lacks.
ROUTINES = [
    "CREATE PROCEDURE close_company(IN cid BIGINT) UPDATE customers SET status = 'gone' WHERE company_id = cid",
    "CREATE FUNCTION order_total(cid BIGINT) RETURNS BIGINT READS SQL DATA RETURN (SELECT COALESCE(SUM(amount), 0) FROM orders WHERE customer_id = cid)",
]

MIGRATIONS = {
    "2026_01_01_000001_covering_indexes": (
        # Covers customers_company_id_foreign (generated: dropped) and notes_customer_fk (explicit: kept).
        "ALTER TABLE customers ADD INDEX customers_company_status (company_id, status);\n"
        "ALTER TABLE notes ADD INDEX notes_customer_id (customer_id, id);\n",
        "ALTER TABLE notes DROP INDEX notes_customer_id;\nALTER TABLE customers DROP INDEX customers_company_status;\n",
    ),
    "2026_01_01_000002_readd_foreign_key": (
        "ALTER TABLE orders DROP FOREIGN KEY orders_company_fk;\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_company_fk FOREIGN KEY (company_id) REFERENCES companies (id) ON DELETE CASCADE;\n"
        "ALTER TABLE orders ADD INDEX orders_company_amount (company_id, amount);\n",
        "ALTER TABLE orders DROP INDEX orders_company_amount;\n",
    ),
    "2026_01_01_000003_add_and_drop_foreign_keys": (
        "ALTER TABLE notes ADD COLUMN company_id BIGINT UNSIGNED NULL, ADD CONSTRAINT notes_company_fk FOREIGN KEY (company_id) REFERENCES companies (id);\n"
        "ALTER TABLE orders DROP FOREIGN KEY orders_ibfk_1;\n"
        "ALTER TABLE orders ADD INDEX orders_customer_amount (customer_id, amount);\n"
        "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;\n",
        "SELECT 1;\n",
    ),
    "2026_01_01_000004_types_and_charsets": (
        "ALTER TABLE customers MODIFY email VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;\n"
        "ALTER TABLE orders MODIFY amount BIGINT NOT NULL;\n"
        "ALTER TABLE notes CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n",
        "SELECT 1;\n",
    ),
    "2026_01_01_000005_renames": (
        "ALTER TABLE notes RENAME COLUMN body TO text_body;\nRENAME TABLE notes TO customer_notes;\n",
        "RENAME TABLE customer_notes TO notes;\nALTER TABLE notes RENAME COLUMN text_body TO body;\n",
    ),
    "2026_01_01_000006_views_triggers_routines": (
        "CREATE OR REPLACE VIEW v_customers AS SELECT id, company_id, email, status FROM customers WHERE status <> 'gone';\n"
        "CREATE TRIGGER orders_bi BEFORE INSERT ON orders FOR EACH ROW SET NEW.code = UPPER(NEW.code);\n"
        "DROP PROCEDURE IF EXISTS close_company;\n"
        "CREATE PROCEDURE close_company(IN cid BIGINT) UPDATE customers SET status = 'closed' WHERE company_id = cid;\n"
        "CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;\n",
        "DROP FUNCTION IF EXISTS double_it;\nDROP TRIGGER IF EXISTS orders_bi;\n",
    ),
}


@pytest.fixture
def migration_set(tmp_path) -> str:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for name, (up, down) in MIGRATIONS.items():
        (directory / f"{name}.up.sql").write_text(up)
        (directory / f"{name}.down.sql").write_text(down)
    return str(directory)


@pytest.fixture
def production(admin, deploy_params):
    name = SCRATCH_PREFIX + uuid.uuid4().hex[:10]  # where the deploy account has rights, as on a real production
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.execute(f"USE `{name}`")
        for statement in PRODUCTION:
            cur.execute(statement)
    deploy = connect(deploy_params, name)
    with deploy.cursor() as cur:
        for statement in ROUTINES:
            cur.execute(statement)
    deploy.close()
    yield name
    drop_database(admin, name)


def migrate(params: ConnectionParams, database: str, migrations_dir: str) -> None:
    conn = connect(params, database)
    try:
        MigrationRunner(conn, RunnerSettings(database=database), load_migrations(migrations_dir)).migrate()
    finally:
        conn.close()


def portable(conn, server, database):
    return portable_schema(read_schema(conn, database, server), database)


def indexes(conn, server, database, table):
    return {index.name for index in read_tables(conn, database, server, only=[table])[table].indexes}


def test_copy_and_production_migrated_side_by_side_stay_equal(admin, server, production, deploy_params, migration_set):
    source, destination = connect(deploy_params), connect(deploy_params)  # two sessions: read one, write the other
    copy = SCRATCH_PREFIX + uuid.uuid4().hex[:10]
    old_style = SCRATCH_PREFIX + uuid.uuid4().hex[:10]
    try:
        report = clone_schema(source, destination, server, production, copy, "fidelity", ()).as_dict()
        assert report["generated_rule"] == "probed on a temporary copy of each table"
        assert report["generated_fk_indexes"] == {"customers": ["customers_company_id_foreign"], "orders": ["customer_id", "orders_company_fk"]}
        assert report["views"] == ["v_customers", "company_totals"]  # dependency order, found by the copy
        assert report["triggers"] == ["customers_bi"] and report["events"] == ["purge_gone"]
        assert sorted(report["routines"]) == ["function order_total", "procedure close_company"]
        with destination.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            (copier,) = cur.fetchone()
        with admin.cursor() as cur:
            cur.execute("SELECT STATUS, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s", (copy,))
            assert cur.fetchone() == ("DISABLED", copier)
            cur.execute("SELECT DISTINCT DEFINER, SECURITY_TYPE FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s", (copy,))
            assert cur.fetchall() == ((copier, "DEFINER"),)  # the copying account; SQL SECURITY as production's
            cur.execute("SELECT ROW_FORMAT, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'customers'", (copy,))
            assert cur.fetchone() == ("Compact", "people we serve")
            cur.execute(f"SELECT COUNT(*) FROM `{copy}`.company_totals")  # the views work for the rehearsal account
        assert fingerprint(portable(admin, server, copy)) == fingerprint(portable(admin, server, production))

        # The copy as it used to be made (SHOW CREATE TABLE replayed): its generated indexes become explicit.
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{old_style}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cur.execute(f"USE `{old_style}`")
            cur.execute("SET SESSION foreign_key_checks = 0")
            for table in ("companies", "customers", "orders", "notes"):
                cur.execute(f"SHOW CREATE TABLE `{production}`.`{table}`")
                cur.execute(cur.fetchone()[1])
            cur.execute("SET SESSION foreign_key_checks = 1")

        for database in (production, copy, old_style):
            migrate(deploy_params, database, migration_set)

        want = portable(admin, server, production)
        assert "customers_company_id_foreign" not in indexes(admin, server, production, "customers")  # InnoDB dropped it
        assert "notes_customer_fk" in indexes(admin, server, production, "customer_notes")  # written by hand: kept
        assert {"customer_id", "orders_company_fk"}.isdisjoint(indexes(admin, server, production, "orders"))
        assert want.tables["customers"].column("email").collation == "utf8mb4_bin"
        got = portable(admin, server, copy)
        assert diff_tables(want.tables, got.tables) == []
        assert fingerprint(got) == fingerprint(want)
        # What the smoke test compares (production against the rehearsal) is equal as it is, views included.
        assert app_fingerprint(admin, server, copy) == app_fingerprint(admin, server, production)
        old = read_tables(admin, old_style, server, exclude=("migrations", "schemagate_migrations"))
        assert diff_tables(want.tables, old) == [
            "table customers: index customers_company_id_foreign: unexpected",
            "table orders: index customer_id: unexpected",
            "table orders: index orders_company_fk: unexpected",
        ]
    finally:
        for conn in (source, destination):
            conn.close()
        drop_database(admin, copy)
        drop_database(admin, old_style)


def test_restore_from_backup_keeps_generated_indexes(admin, server, production, deploy_params, migration_set, tmp_path):
    deploy = connect(deploy_params)
    targets = {"manifest": SCRATCH_PREFIX + "r" + uuid.uuid4().hex[:9], "names": SCRATCH_PREFIX + "n" + uuid.uuid4().hex[:9]}
    try:
        with admin.cursor() as cur:
            cur.execute(f"INSERT INTO `{production}`.companies (name) VALUES ('a'), ('b')")
            cur.execute(f"INSERT INTO `{production}`.customers (company_id, email) VALUES (1, 'X@Y'), (2, 'z@y')")
            cur.execute(f"INSERT INTO `{production}`.orders (customer_id, company_id, amount) VALUES (1, 1, 5)")
        taken = backup.take_backup(deploy_params, deploy, server, production, str(tmp_path / "backups"), label="fidelity")
        manifest = taken["manifest"]
        assert manifest.generated_fk_indexes == {"customers": ["customers_company_id_foreign"], "orders": ["customer_id", "orders_company_fk"]}
        for how, target in targets.items():
            create_scratch(deploy, production, target, "fidelity")
            generated = manifest.generated_fk_indexes if how == "manifest" else None  # None: an older manifest, judged by names
            dump_restore.restore_dump(deploy_params, taken["backup_file"], production, target, 2, generated)
        for database in (production, *targets.values()):
            migrate(deploy_params, database, migration_set)
        want = portable(admin, server, production)
        assert diff_tables(want.tables, portable(admin, server, targets["manifest"]).tables) == []
        # From the names alone, the hand-written index named as its foreign key is taken for a generated one.
        assert diff_tables(want.tables, portable(admin, server, targets["names"]).tables) == [
            "table customer_notes: index notes_customer_fk: missing",
        ]
    finally:
        for target in targets.values():
            drop_scratch(deploy, production, target, "fidelity")
        deploy.close()


def test_the_gate_passes_on_a_production_with_a_view(admin, deploy_params, tmp_path):
    database = create_production(admin)
    try:
        with admin.cursor() as cur:  # defined by another account than the gate's
            cur.execute(f"USE `{database}`")
            cur.execute("CREATE VIEW active_customers AS SELECT id, company_id, email FROM customers WHERE email IS NOT NULL")
            cur.execute("CREATE VIEW customer_counts AS SELECT company_id, COUNT(*) AS n FROM active_customers GROUP BY company_id")
            cur.execute("CREATE TRIGGER customers_email_bi BEFORE INSERT ON customers FOR EACH ROW SET NEW.email = LOWER(NEW.email)")
        deploy = connect(deploy_params, database)
        with deploy.cursor() as cur:
            cur.execute("CREATE FUNCTION customer_count(cid BIGINT) RETURNS BIGINT READS SQL DATA "
                        "RETURN (SELECT COUNT(*) FROM customers WHERE company_id = cid)")
        deploy.close()
        vars_file = tmp_path / "gate.json"
        vars_file.write_text(json.dumps({
            "schemagate_database": database, "schemagate_migrations_dir": MIGRATIONS_DIR,
            "gate_report_root": str(tmp_path / "reports"), **FAST_GATE,
        }))
        result = playbook("playbooks/gate.yml", extra_vars_file=str(vars_file))
        flat = " ".join(result.stdout.split())
        assert result.returncode == 0, flat[-3000:]
        assert "GATE PASSED" in flat
        [report] = [json.loads(path.read_text()) for path in (tmp_path / "reports").glob("*/gate.json")]
        copies = [c for c in report["checks"] if c["code"] == "RH101"]
        assert copies and all(c["passed"] for c in copies)
        assert os.path.isdir(tmp_path / "reports")
    finally:
        drop_database(admin, database)
