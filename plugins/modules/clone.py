#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: clone
short_description: Clone a database's schema into a scratch database, or drop that scratch database
version_added: "0.1.0"
description:
  - With O(state=present), creates O(scratch_database) as a faithful copy of the structure of O(database), that is tables
    with their keys, foreign keys, CHECKs and table options (engine, row format, character set, collation,
    comment), procedures and functions, views in dependency order, triggers in firing order and events (created
    disabled), plus the rows of its migration bookkeeping tables, so the clone sits at the same migration state.
    O(database) is only read.
  - An index the server generated for a foreign key stays generated in the copy (the foreign key is added after
    the table and the server makes the index), so a later covering index drops it in the copy as in production.
    Which indexes are generated is probed on a session-private temporary copy of each table; when the account
    may not create temporary tables, or the binary log would record them, it is judged from the names.
  - Views, triggers, routines and events get the connecting account as DEFINER; SQL SECURITY stays as in
    O(database). The copy is compared with O(database) (schema fingerprint, table options) and fails when it differs.
  - With O(target), the copy is made on another server (the gate's rehearsal server); the structure is read
    from O(database) through the module's connection (production, only read) and created through O(target).
    There O(scratch_database) may bear O(database)'s own name, so a migration's C(USE) or qualified names reach
    the copy exactly as they will reach production.
  - The scratch database gets a C(schemagate_scratch) marker table naming O(run_id). With O(state=absent) the
    module drops O(scratch_database) (through O(target) when given) only if it carries the marker of O(run_id),
    and never O(database) on production's server.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
  - schemagate.mysql.target
options:
  database:
    description: The source (production) database; only read.
    type: str
    required: true
    aliases: [ db ]
  scratch_database:
    description: Name of the scratch database; must differ from O(database) and not exist yet (with O(state=present)).
    type: str
    required: true
  run_id:
    description: Identifier of the gate run, recorded in the scratch database's marker.
    type: str
    required: true
  state:
    description: V(present) clones, V(absent) drops the scratch database of this run.
    type: str
    choices: [ present, absent ]
    default: present
  migrations_table:
    description:
      - A migrations table whose rows (and schemagate's journal beside it) are copied, when it is not one of the
        tools' default names; the rows of every tool's default bookkeeping table are always copied.
    type: str
    default: migrations
  purpose:
    description: What the copy is for, echoed in the result (V(rehearsal), V(rollback scenarios)).
    type: str
    default: rehearsal
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Clone production's schema for a rehearsal
  schemagate.mysql.clone:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    scratch_database: askproai_db_sg_gate_20261124130000
    run_id: "20261124130000"

- name: Copy production's schema onto the embedded rehearsal server, under production's own name
  schemagate.mysql.clone:
    config_file: /etc/schemagate/gate.cnf
    database: askproai_db
    scratch_database: askproai_db
    run_id: "20261124130000"
    target:
      login_unix_socket: /tmp/sg-rehearsal-x1/mysqld.sock
      config_file: /tmp/sg-rehearsal-x1/admin.cnf

- name: Drop the scratch database afterwards
  schemagate.mysql.clone:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    scratch_database: askproai_db_sg_gate_20261124130000
    run_id: "20261124130000"
    state: absent
'''

RETURN = r'''
clone:
  description:
    - What was cloned (tables, views, triggers, routines, events, copied bookkeeping rows, seconds), the indexes left
      to the server to generate (C(generated_fk_indexes), per table), how they were found (C(generated_rule)), those
      generated on production that could only be copied as explicit (C(kept_explicit)) and the copy's fingerprint.
  returned: when O(state=present)
  type: dict
  sample:
    source: askproai_db
    target: askproai_db_sg_gate_1
    tables: [appointments, branches]
    copied_rows: {migrations: 6}
    generated_fk_indexes: {customers: [customers_company_id_foreign]}
    generated_rule: probed on a temporary copy of each table
server:
  description: Flavour and version of the server the copy is on.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.bookkeeping import history_tables
from ansible_collections.schemagate.mysql.plugins.module_utils.core.scratch import check_scratch_target, drop_scratch
from ansible_collections.schemagate.mysql.plugins.module_utils.core.session import SqlSession
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.clone import clone_schema
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import (
    argument_spec, connection, run, server_facts, target_argument_spec, target_connection)
from ansible_collections.schemagate.mysql.plugins.module_utils.core.session import same_server


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            scratch_database=dict(type='str', required=True),
            run_id=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            migrations_table=dict(type='str', default='migrations'),
            target=target_argument_spec(),
            purpose=dict(type='str', default='rehearsal'),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: clone(module))


def clone(module):
    params = module.params
    with connection(module) as (conn, server), target_connection(module) as (target, target_server):
        other = bool(params['target']) and not same_server(conn, target)
        check_scratch_target(params['database'], params['scratch_database'], other)
        if module.check_mode:  # predicted from state: a copy is always built afresh; only an existing one is dropped
            exists = SqlSession(target).database_exists(params['scratch_database'])
            return dict(changed=exists if params['state'] == 'absent' else True, server=server_facts(target_server))
        if params['state'] == 'absent':
            dropped = drop_scratch(target, params['database'], params['scratch_database'], params['run_id'], other)
            return dict(changed=dropped, server=server_facts(target_server))
        # The rows of every migration tool's table and schemagate's journals: the rehearsal starts at production's history.
        history = list(history_tables(params['migrations_table']))
        report = clone_schema(conn, target, server, params['database'], params['scratch_database'], params['run_id'],
                              history, other_server=other)
        result = report.as_dict()
        result.update(purpose=params['purpose'], on_other_server=other)
        return dict(changed=True, clone=result, server=server_facts(target_server))


if __name__ == '__main__':
    main()
