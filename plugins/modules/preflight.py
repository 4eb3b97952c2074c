#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: preflight
short_description: Read-only checks of a production database before a rehearsal or a deploy
version_added: "0.1.0"
description:
  - Reports the server flavour and version, pending migrations, applied migrations whose files changed or that
    stopped halfway, transactions open longer than O(long_transaction_seconds) (a migration's DDL would queue
    behind them and block the table), and privileges of the account that are missing for the next step.
  - Only reads; never changes anything.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
  - schemagate.mysql.migration_set
options:
  database:
    description: The production database.
    type: str
    required: true
    aliases: [ db ]
  long_transaction_seconds:
    description: Transactions open longer than this fail the check; V(0) disables it.
    type: int
    default: 60
  purpose:
    description: V(gate) checks read privileges on production; V(deploy) checks the privileges a migration needs.
    type: str
    choices: [ gate, deploy ]
    default: gate
  scratch_database:
    description: A scratch database name whose privileges (create, fill, drop) the account needs for the gate.
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Preflight production before the gate
  schemagate.mysql.preflight:
    config_file: /etc/schemagate/gate.cnf
    database: askproai_db
    migrations_dir: "{{ playbook_dir }}/../migrations"
    scratch_database: askproai_db_sg_gate_check
  register: preflight
'''

RETURN = r'''
passed:
  description: Whether every preflight check passed.
  returned: always
  type: bool
pending:
  description: Names of the migrations pending on production.
  returned: always
  type: list
  elements: str
checks:
  description: One result per check (group C(preflight)).
  returned: always
  type: list
  elements: dict
pending_migrations:
  description:
    - The pending migrations as the gate's fleet plan compares them (README, "Fleets"), in order.
    - C(checksum) covers the up and the down; C(names_database) says whether a statement names the database,
      C(server_wide) whether one acts on the whole server (users, grants, databases, globals).
  returned: always
  type: list
  elements: dict
  sample: [{name: 2025_10_01_060100_create_notification_configurations_table, checksum: 3f2a..., names_database: false,
           server_wide: false}]
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, checks_result, connection, run
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.fleet import describe_pending
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.preflight import DEPLOY_PRIVILEGES, GATE_PRIVILEGES, run_preflight
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.options import MIGRATION_SET_ARGUMENT_SPEC, load_set
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.runner import MigrationRunner


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            long_transaction_seconds=dict(type='int', default=60),
            purpose=dict(type='str', default='gate', choices=['gate', 'deploy']),
            scratch_database=dict(type='str'),
            **MIGRATION_SET_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: preflight(module))


def preflight(module):
    params = module.params
    settings, migrations = load_set(params, params['database'])
    required = GATE_PRIVILEGES if params['purpose'] == 'gate' else DEPLOY_PRIVILEGES
    with connection(module, settings.database) as (conn, server):
        results = run_preflight(
            conn, server, settings, migrations, params['long_transaction_seconds'], required, params['scratch_database'] or ''
        )
        pending = MigrationRunner(conn, settings, migrations).pending()
    return checks_result(results, server, pending=[m.name for m in pending],
                         pending_migrations=describe_pending(pending, settings.database))


if __name__ == '__main__':
    main()
