#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: write_expectations
short_description: Record the structure a migrated copy has, and starter rules, as expectations to review
version_added: "0.1.0"
description:
  - Reads a migrated scratch database (the copy C(playbooks/expectations.yml) rehearses the pending migrations on) and
    writes the exact structure of the tables the migrations created or altered to O(structure_file), in the format of
    C(expectations/phase_b_schema.yaml).
  - Writes a starter rules file to O(rules_file) (foreign keys with their ON DELETE rules, unique keys, ENUM values,
    JSON columns, soft deletes, and the tenant column when every migrated table references the tenant table the same
    way), naming O(structure_file) relative to itself. An existing rules file is kept unless O(overwrite_rules=true),
    so hand-written rules and waivers are never lost.
  - The database is only read; the two files are the only things written.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
options:
  database:
    description: The migrated scratch database to read.
    type: str
    required: true
    aliases: [ db ]
  baseline:
    description:
      - The structure of the tables before the migrations (as M(schemagate.mysql.schema_fingerprint) returns it in
        C(structure.tables)); the tables that differ from it, or are new, are recorded.
    type: dict
    required: true
  structure_file:
    description: Where the structure file is written (created or replaced).
    type: path
    required: true
  rules_file:
    description: Where the starter rules file is written when it does not exist yet.
    type: path
    required: true
  overwrite_rules:
    description: Replace an existing rules file too.
    type: bool
    default: false
  tenant_column:
    description: The tenant column, for the starter C(tenant) rule ('' = none).
    type: str
    default: ""
  migrations_table:
    description: The table recording applied migrations; it and schemagate's other tables are never recorded.
    type: str
    default: migrations
attributes:
  check_mode:
    support: full
    details: Reports the tables it would record and writes nothing.
  diff_mode:
    support: none
seealso:
  - module: schemagate.mysql.schema_fingerprint
  - module: schemagate.mysql.schema_verify
'''

EXAMPLES = r'''
- name: Record what the pending migrations produce
  schemagate.mysql.write_expectations:
    config_file: /etc/schemagate/deploy.cnf
    database: app_db_sg_exp_20261202040000abcd
    baseline: "{{ before.structure.tables }}"
    structure_file: /srv/app/db/expectations/schema.yaml
    rules_file: /srv/app/db/expectations/expectations.yaml
'''

RETURN = r'''
tables:
  description: The tables recorded, those the migrations created or altered.
  returned: success
  type: list
  elements: str
  sample: [orders, order_lines]
structure_file:
  description: The structure file written.
  returned: success
  type: str
rules_file:
  description: The rules file.
  returned: success
  type: str
rules_written:
  description: Whether the rules file was written (false when it existed and O(overwrite_rules) was not set).
  returned: success
  type: bool
server:
  description: Flavour and version of the server.
  returned: success
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.bookkeeping import bookkeeping_tables
from ansible_collections.schemagate.mysql.plugins.module_utils.core.catalog import read_tables
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, connection, run, server_facts
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.expectations_writer import write_expectations
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.schema_verify import touched_tables


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            baseline=dict(type='dict', required=True),
            structure_file=dict(type='path', required=True),
            rules_file=dict(type='path', required=True),
            overwrite_rules=dict(type='bool', default=False),
            tenant_column=dict(type='str', default=''),
            migrations_table=dict(type='str', default='migrations'),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: record(module))


def record(module):
    params = module.params
    with connection(module, params['database']) as (conn, server):
        tables = read_tables(conn, params['database'], server, exclude=bookkeeping_tables(params['migrations_table'] or 'migrations'))
    names = touched_tables(tables, params['baseline'])
    if module.check_mode:
        return dict(changed=False, tables=names, structure_file=params['structure_file'], rules_file=params['rules_file'],
                    rules_written=False, server=server_facts(server))
    written = write_expectations(
        tables, names, params['structure_file'], params['rules_file'], params['database'], params['tenant_column'] or '',
        params['overwrite_rules'],
    )
    return dict(changed=True, server=server_facts(server), **written)


if __name__ == '__main__':
    main()
