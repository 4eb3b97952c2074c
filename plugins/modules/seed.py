#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: seed
short_description: Fill the empty tables of a scratch database with synthetic, FK-consistent rows
version_added: "0.1.0"
description:
  - Reads the foreign-key graph from the catalog and fills every empty table, parents first, with one server-side
    C(INSERT ... SELECT) per table. Every foreign key points at an existing parent; where child and parent both
    carry the tenant column, the parent is picked in the child's tenant. Undeclared C(<name>_id) references are
    followed by Laravel naming convention.
  - Only writes to scratch databases made by M(schemagate.mysql.clone) (they carry a marker table); anything else
    is refused, so the gate can never write to production.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
options:
  database:
    description: The scratch database to fill.
    type: str
    required: true
    aliases: [ db ]
  rows:
    description: Rows to generate per table name; tables not listed get O(default_rows).
    type: dict
    default: {}
  default_rows:
    description: Rows for tables not named in O(rows).
    type: int
    default: 1000
  scale:
    description:
      - Multiplier of every table's rows (O(rows) and O(default_rows) alike), at least one row per seeded table.
    type: float
    default: 1.0
  tenant_column:
    description:
      - Column that scopes rows to a tenant (for example C(company_id) or C(org_id)); parents are picked within the
        child's tenant. Empty (the default) for an application without tenants.
    type: str
    default: ""
  migrations_table:
    description: The table recording applied migrations; it and schemagate's other tables are never filled.
    type: str
    default: migrations
  exclude:
    description: Tables never to fill (the migration bookkeeping tables are always excluded).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: partial
    details: Reports nothing to do and changes nothing.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Seed the rehearsal clone at benchmark scale
  schemagate.mysql.seed:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db_sg_gate_20261124130000
    rows:
      appointment_modifications: 100000
      callback_requests: 100000
    default_rows: 2000
'''

RETURN = r'''
seeded:
  description: Rows inserted per table, tables skipped (with the reason), seconds per table, total and rows per second.
  returned: success
  type: dict
  sample: {rows: {companies: 20, callback_requests: 100000}, skipped: {migrations: already has rows}, total_rows: 100020,
           seconds: 3.1, rows_per_second: 32264}
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.bookkeeping import bookkeeping_tables
from ansible_collections.schemagate.mysql.plugins.module_utils.core.scratch import require_scratch
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, connection, run, server_facts
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.seeder import SeedPlan, seed_database


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            rows=dict(type='dict', default={}),
            default_rows=dict(type='int', default=1000),
            scale=dict(type='float', default=1.0),
            tenant_column=dict(type='str', default=''),
            exclude=dict(type='list', elements='str', default=[]),
            migrations_table=dict(type='str', default='migrations'),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: seed(module))


def seed(module):
    params = module.params
    rows = {}
    for table, count in params['rows'].items():
        try:
            rows[table] = int(count)
        except (TypeError, ValueError):
            module.fail_json(msg=f"rows.{table} must be a whole number of rows, got {count!r}.")
    if params['scale'] <= 0:
        module.fail_json(msg=f"scale must be > 0, got {params['scale']}.")
    plan = SeedPlan(rows=rows, default_rows=params['default_rows'], tenant_column=params['tenant_column'] or '', scale=params['scale'])
    with connection(module) as (conn, server):
        require_scratch(conn, params['database'])
        if module.check_mode:  # predicted from the plan: any rows to insert is a change
            return dict(changed=plan.default_rows > 0 or any(count > 0 for count in rows.values()), server=server_facts(server))
        exclude = list(bookkeeping_tables(params['migrations_table'])) + params['exclude']
        result = seed_database(conn, server, params['database'], plan, exclude=exclude)
        return dict(changed=bool(result.rows), seeded=result.as_dict(), server=server_facts(server))


if __name__ == '__main__':
    main()
