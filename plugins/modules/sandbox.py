#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: sandbox
short_description: Run a private MariaDB/MySQL instance with a sample "production" database
version_added: "0.1.0"
description:
  - Starts, stops or removes a private server instance with its own datadir, port and Unix socket under O(path).
    It never uses the system server, its service manager or port 3306.
  - With O(production_database), creates that database with the base tables of O(base_schema_file), fills them
    with deterministic, foreign-key-consistent sample data, and creates a least-privileged deploy account whose
    credentials are written to C(<path>/deploy.cnf) (mode 0600).
  - The server binary (C(mariadbd) or C(mysqld)) must be installed on the host; nothing is downloaded.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
options:
  state:
    description: V(started) starts (initialising on first use), V(stopped) stops, V(absent) stops and deletes O(path).
    type: str
    choices: [ started, stopped, absent ]
    default: started
  path:
    description: Directory holding the instance's datadir, socket, pid file, error log and option files.
    type: path
    required: true
  port:
    description: TCP port on 127.0.0.1.
    type: int
    default: 3417
  production_database:
    description: Name of the sample "production" database to create when missing (with O(state=started)).
    type: str
  base_schema_file:
    description: SQL file creating the base tables; required with O(production_database).
    type: path
  scale:
    description:
      - Multiplier of the default sample volume (20 companies, 200 branches, 1,000 staff, 200 services,
        50,000 customers, 200,000 appointments).
    type: float
    default: 1.0
  reset:
    description: Drop and recreate O(production_database) even if it exists.
    type: bool
    default: false
attributes:
  check_mode:
    support: partial
    details: Reports the current state and changes nothing.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Start the sandbox with a production-like database
  schemagate.mysql.sandbox:
    path: "{{ playbook_dir }}/../.sandbox"
    production_database: askproai_db
    base_schema_file: "{{ playbook_dir }}/../sql/base_schema.sql"

- name: Stop it
  schemagate.mysql.sandbox:
    path: "{{ playbook_dir }}/../.sandbox"
    state: stopped
'''

RETURN = r'''
running:
  description: Whether the instance runs after the task.
  returned: always
  type: bool
port:
  description: TCP port of the instance.
  returned: always
  type: int
socket:
  description: Unix socket of the instance.
  returned: always
  type: str
version:
  description: Server version string, when running.
  returned: always
  type: str
deploy_config_file:
  description: Option file (0600) with the deploy account's credentials.
  returned: when O(production_database) is set
  type: str
seeded:
  description: Rows inserted per table, total, seconds and rows per second, when the database was created.
  returned: when O(production_database) is set
  type: dict
  sample: {rows: {companies: 20, appointments: 200000}, total_rows: 251420, seconds: 1.9, rows_per_second: 132000}
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.sandbox import sandbox
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import run
from ansible_collections.schemagate.mysql.plugins.module_utils.sandbox.sample_data import SampleScale


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='started', choices=['started', 'stopped', 'absent']),
            path=dict(type='path', required=True),
            port=dict(type='int', default=3417),
            production_database=dict(type='str'),
            base_schema_file=dict(type='path'),
            scale=dict(type='float', default=1.0),
            reset=dict(type='bool', default=False),
        ),
        required_by=dict(production_database=['base_schema_file']),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: ensure(module))


def ensure(module):
    params = module.params
    cfg = sandbox.SandboxConfig(root=params['path'], port=params['port'])
    state = params['state']
    scale = SampleScale.scaled(params['scale'])  # refused before anything starts
    if module.check_mode:
        current = sandbox.status(cfg)
        return dict(changed=current['running'] != (state == 'started'), **current)
    if state == 'stopped':
        return sandbox.stop(cfg)
    if state == 'absent':
        return sandbox.destroy(cfg)
    result = sandbox.start(cfg)
    if params['production_database']:
        production = sandbox.ensure_production(
            cfg,
            params['production_database'],
            params['base_schema_file'],
            scale,
            reset=params['reset'],
        )
        result['changed'] = result['changed'] or production['changed']
        result['seeded'] = production['seeded']
        result['deploy_config_file'] = production['deploy_config_file']
    return result


if __name__ == '__main__':
    main()
