#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: deploy_lock
short_description: Take or release the per-database deploy lock that spans a whole deploy
version_added: "0.1.0"
description:
  - One deploy per database at a time, across the backup, migrate and smoke-test tasks (each of which opens its
    own session, so a session lock cannot span them). The lock is one row in C(schemagate_deploy_lock) in the
    target database, naming the holder and expiring after O(ttl) seconds, so a deploy killed before releasing
    it blocks the next one for at most that long.
  - A second deploy waits up to O(wait) seconds, then fails naming the holder, its run id and when its lock
    expires. Taking the lock again with the same O(run_id) is a no-op.
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
  run_id:
    description: Identifier of this deploy; only the same run id releases the lock.
    type: str
    required: true
  holder:
    description: Who holds the lock, shown to anyone who has to wait (for example user@controller).
    type: str
    default: schemagate
  state:
    description: V(acquired) takes the lock (waiting up to O(wait)), V(released) gives it back.
    type: str
    choices: [ acquired, released ]
    default: acquired
  ttl:
    description: Seconds after which an unreleased lock counts as abandoned.
    type: int
    default: 7200
  wait:
    description: Seconds to wait for another deploy's lock before failing.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
    details: Reports who holds the lock, and takes or releases nothing.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Take the deploy lock
  schemagate.mysql.deploy_lock:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    run_id: "{{ deploy_run_id }}"
    holder: "{{ lookup('ansible.builtin.env', 'USER') }}@{{ inventory_hostname }}"

- name: Release it
  schemagate.mysql.deploy_lock:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    run_id: "{{ deploy_run_id }}"
    state: released
'''

RETURN = r'''
holder:
  description: The holder of the lock after the task (none after a release), or the one that blocked it.
  returned: always
  type: raw
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.deploy import deploy_lock
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, connection, run, server_facts


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            run_id=dict(type='str', required=True),
            holder=dict(type='str', default='schemagate'),
            state=dict(type='str', default='acquired', choices=['acquired', 'released']),
            ttl=dict(type='int', default=7200),
            wait=dict(type='int', default=60),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: lock(module))


def lock(module):
    params = module.params
    with connection(module, params['database']) as (conn, server):
        if module.check_mode:
            return dict(changed=False, holder=None, server=server_facts(server))
        if params['state'] == 'released':
            released = deploy_lock.release(conn, params['database'], params['run_id'])
            return dict(changed=released, holder=None, server=server_facts(server))
        taken = deploy_lock.acquire(conn, params['database'], params['run_id'], params['holder'], params['ttl'], params['wait'])
        return dict(changed=taken['changed'], holder=taken['holder'], server=server_facts(server))


if __name__ == '__main__':
    main()
