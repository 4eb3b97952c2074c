#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: schema_verify
short_description: Verify a migrated schema against its reviewed expectations (the gate's verify step)
version_added: "0.1.0"
description:
  - Checks an already migrated database, typically the gate's scratch clone, and returns one result per check.
    Nothing is changed; the module only reads the catalog.
  - The exact structure of the expected tables is compared with the structure file named by O(expectations_file),
    one check per table, listing the exact differences.
  - The named rules of O(expectations_file) (tenant column, foreign keys and their C(ON DELETE) rules, unique keys,
    critical indexes, ENUM values, JSON columns, soft-delete columns, polymorphic pairs) each become one check.
  - The annotated queries of O(verify_sql_file), if given, each become one check.
  - Three rules that need no expectations run over every table of the database (schemagate's own bookkeeping tables
    left out). Every table has a primary key, every foreign key leads an index, and all tables share one collation.
    With O(baseline), they block only on the tables the migrations created or altered; the other tables are reported
    as information.
  - Without O(expectations_file) the structure and rule checks are reported as skipped (C(SV114)); without
    O(verify_sql_file) the verify queries are (C(SV116)). With O(expectations_file), a table the migrations created or
    altered that the structure file does not record fails C(SV115) (drift).
  - Failed checks do not fail the task. The task returns them with RV(passed=false), and the caller (the gate)
    decides. Only bad input and connection errors fail the task.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
options:
  database:
    description: The migrated database to verify.
    type: str
    required: true
    aliases: [ db ]
  expectations_file:
    description:
      - YAML file of named rules, on the host that executes the module. Its key C(structure) names the exact
        structure file, relative to the expectations file. See C(expectations/phase_b.yaml) for the format.
      - Optional; C(playbooks/expectations.yml) generates one to review.
    type: path
  baseline:
    description:
      - The structure of the tables before the migrations (table name to structure, as a structure file holds it, or
        the C(structure.tables) that M(schemagate.mysql.schema_fingerprint) returns). It tells which tables the
        migrations created or altered. Without it every table counts as created or altered.
    type: dict
  migrations_table:
    description: The table recording applied migrations; it and schemagate's other tables are never checked.
    type: str
    default: migrations
  verify_sql_file:
    description:
      - SQL file of read-only queries, each preceded by a C(-- check:) and an C(-- expect) comment; see the header of
        C(sql/verify_migrations.sql) for the grammar. The queries run with O(database) as the current database.
    type: path
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode runs every check as usual.
  diff_mode:
    support: none
    details: Differences from the expectations are returned in RV(checks) instead.
seealso:
  - module: schemagate.mysql.migrate
'''

EXAMPLES = r'''
- name: Verify the rehearsed schema of the scratch clone
  schemagate.mysql.schema_verify:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db_sg_gate
    expectations_file: "{{ playbook_dir }}/../expectations/phase_b.yaml"
    verify_sql_file: "{{ playbook_dir }}/../sql/verify_migrations.sql"
  register: schema_verify

- name: Stop before production when a check failed
  ansible.builtin.assert:
    that: schema_verify.passed
    fail_msg: "{{ schema_verify.summary }}"
'''

RETURN = r'''
passed:
  description: Whether every check passed.
  returned: success
  type: bool
  sample: true
summary:
  description: One line, the number of checks and the first failure if any.
  returned: success
  type: str
  sample: "1 of 76 checks failed; first: verify tenant callback_escalations.company_id: company_id is nullable: ..."
checks:
  description:
    - One result per check, in the order structure, rules, verify queries, generic rules.
    - Each has C(group) (always C(verify)), C(name), C(passed), C(message) (one line), C(details) (exact differences,
      one per line), C(figures), C(seconds) and C(warning), which is set when a check passes but a reviewer should know
      something, for example a unique key with a nullable column.
  returned: success
  type: list
  elements: dict
  sample:
    - group: verify
      name: fk callback_requests.customer_id
      passed: false
      message: foreign key callback_requests_customer_id_foreign is ON DELETE CASCADE, expected ON DELETE SET NULL
      details: [foreign key callback_requests_customer_id_foreign is ON DELETE CASCADE, expected ON DELETE SET NULL]
      figures: {}
      seconds: 0.0
      warning: ""
server:
  description: Flavour and version of the server.
  returned: success
  type: dict
  sample: {flavor: mariadb, version: 10.11.6-MariaDB, label: MariaDB 10.11.6}
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, checks_result, connection, run
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.schema_verify import verify_schema


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            expectations_file=dict(type='path'),
            verify_sql_file=dict(type='path'),
            baseline=dict(type='dict'),
            migrations_table=dict(type='str', default='migrations'),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: verify(module))


def verify(module):
    params = module.params
    with connection(module, params['database']) as (conn, server):
        results = verify_schema(
            conn, server, params['database'], params['expectations_file'] or None, params['verify_sql_file'] or None,
            params['baseline'], params['migrations_table'] or 'migrations',
        )
    return checks_result(results, server)


if __name__ == '__main__':
    main()
