#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: rollback_check
short_description: Prove that pending migrations roll back and re-apply cleanly, with schema fingerprints
version_added: "0.1.0"
description:
  - In a scratch clone at production's migration state, applies the pending migrations one at a time, recording
    the schema after each, then runs the rollback scenarios; full rollback, step-by-step rollback in dependency
    order, foreign-key and index clean-up, re-migration, data insertion, unique enforcement and cascades after
    re-migration, idempotency, partial rollback with selective re-migration, and preservation of the rows of
    pre-existing tables.
  - Every state is compared with the schema the migrations should give, not by counting objects; failures list
    the exact differences.
  - Only runs on scratch databases made by M(schemagate.mysql.clone).
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
  - schemagate.mysql.migration_set
options:
  database:
    description: The scratch database (a fresh clone, not yet migrated).
    type: str
    required: true
    aliases: [ db ]
  rows_per_table:
    description: Rows generated in each table to prove data preservation and constraints.
    type: int
    default: 3
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Prove the pending migrations are reversible
  schemagate.mysql.rollback_check:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db_sg_rollback_20261124130000
    migrations_dir: "{{ playbook_dir }}/../migrations"
  register: rollback
'''

RETURN = r'''
passed:
  description: Whether every scenario passed.
  returned: always
  type: bool
checks:
  description: One result per scenario (group C(rollback)), with message, differences and seconds.
  returned: always
  type: list
  elements: dict
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.scratch import require_scratch
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, checks_result, connection, run
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.rollback_safety import check_rollback_safety
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.options import MIGRATION_SET_ARGUMENT_SPEC, load_set


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            rows_per_table=dict(type='int', default=3),
            **MIGRATION_SET_ARGUMENT_SPEC
        ),
        supports_check_mode=False,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: rollback_check(module))


def rollback_check(module):
    params = module.params
    settings, migrations = load_set(params, params['database'])
    with connection(module, settings.database) as (conn, server):
        require_scratch(conn, settings.database)
        results = check_rollback_safety(conn, server, settings, migrations, params['rows_per_table'])
    return checks_result(results, server, changed=True)


if __name__ == '__main__':
    main()
