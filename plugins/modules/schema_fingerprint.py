#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: schema_fingerprint
short_description: Fingerprint a database's schema so two schemas can be compared exactly
version_added: "0.1.0"
description:
  - Reads the structure of every table (columns, types, defaults, comments, indexes, foreign keys, checks) plus views,
    triggers and routines from the catalog, normalised across MariaDB and MySQL, and returns its sha256.
  - Equal fingerprints mean identical schemas. With O(compare_to), the module also reports whether the schema
    equals that fingerprint and, with O(expected_structure), the exact differences.
  - The migration bookkeeping tables, the deploy lock and the scratch marker are always left out, so production and its
    rehearsal clone compare equal when their application schemas are.
  - Only reads.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
options:
  database:
    description: The database to fingerprint.
    type: str
    required: true
    aliases: [ db ]
  migrations_table:
    description:
      - The table recording applied migrations. It and every other bookkeeping table (its journal
        C(schemagate_<migrations_table>), the deploy lock, the scratch marker, and each migration tool's table under
        its default name with schemagate's journal beside it) are left out of the fingerprint.
    type: str
    default: migrations
  exclude:
    description: More tables to leave out.
    type: list
    elements: str
    default: []
  compare_to:
    description: A fingerprint the schema is expected to have; the result says whether it matches.
    type: str
  expected_structure:
    description: The RV(structure) of the schema expected, to list the differences when the fingerprints differ.
    type: dict
  row_checksums:
    description: Also return C(CHECKSUM TABLE) of every fingerprinted table, to prove rows unchanged.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Record production's schema before the deploy
  schemagate.mysql.schema_fingerprint:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
  register: before_deploy

- name: After a rollback, the schema must be the pre-deploy one
  schemagate.mysql.schema_fingerprint:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    compare_to: "{{ before_deploy.fingerprint }}"
    expected_structure: "{{ before_deploy.structure }}"
  register: after_rollback
  failed_when: not after_rollback.matches
'''

RETURN = r'''
fingerprint:
  description: sha256 of the canonical schema.
  returned: always
  type: str
  sample: 84b335bf2ddd0d1b3f4c2c8e1e0b6f3f3e0d8f84a8d2f0e7cbe8f7f6a5d4c3b2
tables:
  description: Names of the tables fingerprinted.
  returned: always
  type: list
  elements: str
structure:
  description: The normalised structure (tables, views, triggers, routines) that was fingerprinted.
  returned: always
  type: dict
matches:
  description: Whether the fingerprint equals O(compare_to).
  returned: when O(compare_to) is given
  type: bool
row_checksums:
  description: C(CHECKSUM TABLE) value per table.
  returned: when O(row_checksums=true)
  type: dict
  sample: {appointments: 2544036248, companies: 707070207}
differences:
  description: One line per difference from O(expected_structure).
  returned: when O(expected_structure) is given
  type: list
  elements: str
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.bookkeeping import bookkeeping_tables
from ansible_collections.schemagate.mysql.plugins.module_utils.core.catalog import describe_schema, diff_tables, read_schema, table_checksums
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, connection, run, server_facts
from ansible_collections.schemagate.mysql.plugins.module_utils.core.schema_model import tables_from_dict


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            migrations_table=dict(type='str', default='migrations'),
            exclude=dict(type='list', elements='str', default=[]),
            compare_to=dict(type='str'),
            expected_structure=dict(type='dict'),
            row_checksums=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: fingerprint(module))


def fingerprint(module):
    params = module.params
    with connection(module, params['database']) as (conn, server):
        excluded = list(bookkeeping_tables(params['migrations_table'])) + params['exclude']
        schema = read_schema(conn, params['database'], server, excluded)
        found = describe_schema(schema)
        if params['row_checksums']:
            found['row_checksums'] = table_checksums(conn, params['database'], found['tables'])
    result = dict(changed=False, server=server_facts(server), **found)
    if params['compare_to']:
        result['matches'] = found['fingerprint'] == params['compare_to']
    if params['expected_structure'] is not None:
        expected = tables_from_dict(params['expected_structure'].get('tables', {}), 'expected_structure', under='tables.')
        result['differences'] = diff_tables(expected, schema.tables)
    return result


if __name__ == '__main__':
    main()
