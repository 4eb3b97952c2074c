#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: smoke_test
short_description: Smoke-test production after a migration (or a rollback)
version_added: "0.1.0"
description:
  - The production checklist of a deploy, by state. Production's schema must equal the fingerprint the gate
    rehearsed, so there is no drift between rehearsal and production. With O(expectations_file) it also checks that
    the expected tables exist with their foreign keys and ON DELETE rules, and runs a quick query on each; without
    it, a quick query runs on every table.
  - With O(absent=true), after an emergency rollback, production must equal O(expected_fingerprint) (the pre-deploy
    schema); only when none is known, none of the expected tables may remain.
  - Optionally scans the server's error log for errors logged since the deploy started.
  - Only reads; never fails the task on a failed check (the playbook decides), only on bad input.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
options:
  database:
    description: The production database.
    type: str
    required: true
    aliases: [ db ]
  migrations_table:
    description: The table recording applied migrations; it and schemagate's other tables are left out of the fingerprint.
    type: str
    default: migrations
  expectations_file:
    description:
      - The gate's expectations file; its structure file lists the tables and foreign keys to check. Optional; without
        it every table answers a quick query and O(expected_fingerprint) is the check.
    type: path
  expected_fingerprint:
    description: The schema fingerprint production must have (the gate's rehearsal, or the pre-deploy one after a rollback).
    type: str
  absent:
    description: After a rollback; see the description for what is compared.
    type: bool
    default: false
  error_log:
    description: Path of the server's error log on the host running the module; scanned when readable.
    type: path
  error_log_since:
    description: Only errors logged at or after this time count (C(YYYY-MM-DD HH:MM:SS), the log's own clock).
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Smoke-test production after the migration
  schemagate.mysql.smoke_test:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    expectations_file: "{{ playbook_dir }}/../expectations/phase_b.yaml"
    expected_fingerprint: "{{ gate_rehearsal.fingerprint }}"
  register: smoke
  failed_when: not smoke.passed
'''

RETURN = r'''
passed:
  description: Whether every check passed.
  returned: always
  type: bool
summary:
  description: One line; the count of checks and the first failure.
  returned: always
  type: str
checks:
  description: One result per check (group C(smoke)).
  returned: always
  type: list
  elements: dict
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, checks_result, connection, run
from ansible_collections.schemagate.mysql.plugins.module_utils.deploy.smoke import scan_error_log, smoke_test


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            expectations_file=dict(type='path'),
            expected_fingerprint=dict(type='str'),
            absent=dict(type='bool', default=False),
            migrations_table=dict(type='str', default='migrations'),
            error_log=dict(type='path'),
            error_log_since=dict(type='str'),
        ),
        required_by=dict(error_log=['error_log_since']),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: smoke(module))


def smoke(module):
    params = module.params
    with connection(module, params['database']) as (conn, server):
        results = smoke_test(
            conn, server, params['database'], params['expectations_file'] or None, params['expected_fingerprint'], params['absent'],
            params['migrations_table'],
        )
    if params['error_log']:
        results.append(scan_error_log(params['error_log'], params['error_log_since']))
    return checks_result(results, server)


if __name__ == '__main__':
    main()
