"""core/table_ddl.py: a CREATE TABLE taken apart, generated foreign-key indexes told apart, and the plan that rebuilds them. No server."""
from __future__ import annotations

from plugins.module_utils.core.table_ddl import fk_index_candidates, generated_by_rule, parse_create_table, plan_table

ORDERS = (
    "CREATE TABLE `orders` (\n"
    "  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,\n"
    "  `customer_id` bigint(20) unsigned NOT NULL,\n"
    "  `company_id` bigint(20) unsigned NOT NULL,\n"
    "  `staff_id` bigint(20) unsigned DEFAULT NULL,\n"
    "  PRIMARY KEY (`id`),\n"
    "  KEY `orders_company_fk` (`company_id`),\n"
    "  KEY `customer_id` (`customer_id`),\n"
    "  KEY `orders_staff_fk` (`staff_id`),\n"
    "  KEY `orders_staff_day` (`staff_id`,`id`),\n"
    "  CONSTRAINT `orders_company_fk` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE,\n"
    "  CONSTRAINT `orders_ibfk_3` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`),\n"
    "  CONSTRAINT `orders_staff_fk` FOREIGN KEY (`staff_id`) REFERENCES `staff` (`id`)\n"
    ") ENGINE=InnoDB AUTO_INCREMENT=1000 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
)


def test_the_statement_is_read_line_by_line():
    table = parse_create_table(ORDERS)
    assert table is not None and table.name == "orders" and table.auto_increment_column == "id"
    assert [key.name for key in table.keys] == ["PRIMARY", "orders_company_fk", "customer_id", "orders_staff_fk", "orders_staff_day"]
    assert table.key("orders_staff_day").parts == ("staff_id", "id")
    assert [(f.name, f.columns) for f in table.foreign_keys] == [
        ("orders_company_fk", ("company_id",)), ("orders_ibfk_3", ("customer_id",)), ("orders_staff_fk", ("staff_id",))
    ]
    assert parse_create_table(ORDERS.replace("NOT NULL,\n  `company", "NOT NULL COMMENT 'two\nlines',\n  `company")) is None


def test_candidates_and_the_name_rule():
    table = parse_create_table(ORDERS)
    # Named as the constraint, or as the column for an unnamed one; orders_staff_fk too, by its name...
    assert fk_index_candidates(table) == {"orders_company_fk": "orders_company_fk", "orders_ibfk_3": "customer_id", "orders_staff_fk": "orders_staff_fk"}
    # ...but orders_staff_day starts with its column: a generated index would have been dropped, so it is explicit.
    assert generated_by_rule(table) == {"orders_company_fk": "orders_company_fk", "orders_ibfk_3": "customer_id"}
    prefixed = parse_create_table(ORDERS.replace("KEY `customer_id` (`customer_id`)", "KEY `customer_id` (`customer_id`) COMMENT 'mine'"))
    assert "orders_ibfk_3" not in fk_index_candidates(prefixed)  # an option: written by hand


def test_the_plan_leaves_generated_indexes_to_the_server_and_keeps_the_constraint_numbers():
    table = parse_create_table(ORDERS)
    plan = plan_table(table, generated_by_rule(table), keep_auto_increment=False)
    assert "KEY `orders_company_fk`" not in plan.create and "KEY `customer_id`" not in plan.create and "FOREIGN KEY" not in plan.create
    assert "KEY `orders_staff_fk` (`staff_id`)" in plan.create and "AUTO_INCREMENT=" not in plan.create
    assert plan.foreign_key_statements == [
        "ALTER TABLE `orders` ADD CONSTRAINT `orders_company_fk` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE, "
        "ADD CONSTRAINT `orders_staff_fk` FOREIGN KEY (`staff_id`) REFERENCES `staff` (`id`)",
        # orders_ibfk_3 unnamed: the server numbers it highest + 1, so a stand-in orders_ibfk_2 goes first.
        "ALTER TABLE `orders` ADD CONSTRAINT `orders_ibfk_2` FOREIGN KEY (`id`) REFERENCES `orders` (`id`)",
        "ALTER TABLE `orders` ADD FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`)",
        "ALTER TABLE `orders` DROP FOREIGN KEY `orders_ibfk_2`",
    ]
    assert plan.generated == {"orders_company_fk": "orders_company_fk", "orders_ibfk_3": "customer_id"} and plan.kept_explicit == {}


def test_nothing_generated_means_the_table_as_written_with_its_keys_added_later():
    table = parse_create_table(ORDERS)
    plan = plan_table(table, {})
    assert plan.create.count("KEY `") == 4 and "AUTO_INCREMENT=1000" in plan.create
    assert len(plan.foreign_key_statements) == 1 and plan.foreign_key_statements[0].count(" ADD CONSTRAINT ") == 3
