#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: integrity_check
short_description: Prove foreign keys and unique keys on the seeded rows of a scratch clone
version_added: "0.1.0"
description:
  - The referential-integrity step of the pre-deploy gate. Run it against a seeded scratch clone of production after
    the pending migrations were applied there, never against production itself.
  - Reads the foreign keys and unique keys of O(database) from the catalog, so it works on any schema.
  - For every foreign key it deletes a parent row that has children and proves the declared C(ON DELETE) rule on them
    (C(CASCADE) deletes them, C(SET NULL) clears their key columns, C(RESTRICT) refuses with error 1451). A parent whose
    delete is refused by another key further down the cascade is skipped for another one.
  - For every foreign key it counts orphans, child rows whose key matches no parent row. Rows loaded with
    C(foreign_key_checks=0) are never checked by the server.
  - For every C(UNIQUE) key (not the primary key) it gives a second row the key of a first one and expects error 1062.
    A key with nullable columns gets a warning, demonstrated on the data when possible, because rows with C(NULL)
    there never collide.
  - Every probe runs in a transaction that is rolled back, with short lock waits, so the database is left exactly as
    it was found. The session must be able to take row locks; another session's long transaction fails the probe.
  - Failing checks do not fail the task; they are returned in RV(checks) and RV(passed) for the gate to decide.
    The task fails only on bad input or when the server cannot be reached.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
options:
  database:
    description: The seeded scratch database to check.
    type: str
    required: true
    aliases: [ db ]
  tables:
    description:
      - Check only the foreign keys declared by these tables (their child side) and their unique keys.
      - All tables of O(database) when omitted.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    details: Every probe is rolled back, so the check runs unchanged in check mode.
  diff_mode:
    support: none
seealso:
  - module: schemagate.mysql.migrate
'''

EXAMPLES = r'''
- name: Prove the integrity of the rehearsal clone
  schemagate.mysql.integrity_check:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db_sg_rehearsal
  register: integrity

- name: Stop the gate when a check failed
  ansible.builtin.assert:
    that: integrity.passed
    fail_msg: "{{ integrity.summary }}"

- name: Check only the tables a migration touched
  schemagate.mysql.integrity_check:
    login_host: db-scratch.example.com
    login_user: schemagate_deploy
    login_password: "{{ vault_deploy_password }}"
    database: askproai_db_sg_rehearsal
    tables:
      - callback_requests
      - callback_escalations
  register: integrity
'''

RETURN = r'''
passed:
  description: Whether every check passed.
  returned: always
  type: bool
  sample: true
summary:
  description: One line; the number of checks, or the first failure.
  returned: always
  type: str
  sample: "42 checks passed"
checks:
  description:
    - One result per check, in this order. C(fk <table>.<key> ON DELETE <rule>) proves the rule,
      C(orphans <table>.<key>) counts orphans and C(unique <table>.<key>) proves the unique key.
    - Each has C(group) (always C(integrity)), C(name), C(passed), C(message) (one line), C(details) (one line each),
      C(figures) (for example C(children), C(children_deleted), C(children_set_null), C(candidates_tried), C(orphans)),
      C(seconds) and C(warning) (set when the check passed but a reviewer should know, such as a nullable unique key).
  returned: always
  type: list
  elements: dict
  sample:
    - group: integrity
      name: fk callback_requests.callback_requests_branch_id_foreign ON DELETE CASCADE
      passed: true
      message: "deleting branches (id)=('01076449-dfb6-4a49-8baf-4432d9f79015') deleted its 2 callback_requests rows (rolled back)"
      details: []
      figures: {children: 2, children_deleted: 2, candidates_tried: 1}
      seconds: 0.0021
      warning: ""
    - group: integrity
      name: orphans callback_escalations.callback_escalations_callback_request_id_foreign
      passed: false
      message: >-
        callback_escalations_callback_request_id_foreign: 1 orphan row in callback_escalations whose (callback_request_id)
        matches no callback_requests (id) row; delete or repair them (rows loaded with foreign_key_checks=0 are never checked)
      details: ["(callback_request_id)=(999999) has no parent row in callback_requests (id)"]
      figures: {orphans: 1}
      seconds: 0.0004
      warning: ""
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
  sample: {flavor: mariadb, version: 10.11.6-MariaDB, label: MariaDB 10.11.6}
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.integrity import check_integrity
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, checks_result, connection, run


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            tables=dict(type='list', elements='str'),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: integrity_check(module))


def integrity_check(module):
    params = module.params
    with connection(module, params['database']) as (conn, server):
        return checks_result(check_integrity(conn, server, params['database'], params['tables']), server)


if __name__ == '__main__':
    main()
