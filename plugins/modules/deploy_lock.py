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
  - Taking the lock starts a guardian process that holds a connection (and a user lock) while the controller
    that took it runs; the row records that connection's id. A controller killed even with kill -9 thus leaves a
    I(dead holder), and the next deploy fails at once naming it and the recovery command
    C(ansible-playbook playbooks/rollback.yml -e schemagate_release_lock=<run id>).
  - O(state=inspect) with O(only_if_dead=true) checks that O(run_id) holds the lock and is dead, changing nothing;
    O(state=released) with O(only_if_dead=true) releases another run's lock only when its holder is dead, and
    refuses a live holder (its guardian's connection still open).
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
    choices: [ acquired, released, inspect ]
    default: acquired
  only_if_dead:
    description:
      - With O(state=released) or O(state=inspect), O(run_id) is another (killed) run's, and the module acts only when that run holds
        the lock and its holder is dead, and fail naming it when it is alive.
    type: bool
    default: false
  guardian:
    description: With O(state=acquired), start the guardian that lets a later run tell whether this holder lives.
    type: bool
    default: true
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

- name: Release the lock of a killed deploy (refused while it lives)
  schemagate.mysql.deploy_lock:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    run_id: 20261202041500ab12
    state: released
    only_if_dead: true
'''

RETURN = r'''
holder:
  description:
    - The holder of the lock after the task (none after a release), or the one that blocked it.
    - With O(only_if_dead), the dead holder released or inspected, with C(connection_id), C(heartbeat_at) and C(alive).
  returned: always
  type: raw
guardian:
  description: With O(state=acquired), the guardian's pid and connection id.
  returned: when the lock was taken with a guardian
  type: dict
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.deploy import deploy_lock
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, connection, run, server_facts
from ansible_collections.schemagate.mysql.plugins.module_utils.core import interrupts
from ansible_collections.schemagate.mysql.plugins.module_utils.core.connection import ConnectionParams
from ansible_collections.schemagate.mysql.plugins.module_utils.core.errors import SchemagateError


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            run_id=dict(type='str', required=True),
            holder=dict(type='str', default='schemagate'),
            state=dict(type='str', default='acquired', choices=['acquired', 'released', 'inspect']),
            only_if_dead=dict(type='bool', default=False),
            guardian=dict(type='bool', default=True),
            ttl=dict(type='int', default=7200),
            wait=dict(type='int', default=60),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: lock(module))


def lock(module):
    params = module.params
    database, run_id = params['database'], params['run_id']
    with connection(module, database) as (conn, server):
        facts = server_facts(server)
        if params['only_if_dead']:
            if params['state'] == 'acquired':
                raise SchemagateError("only_if_dead applies to state=released or state=inspect, not acquired.")
            if params['state'] == 'inspect' or module.check_mode:
                return dict(changed=False, holder=deploy_lock.inspect_dead(conn, database, run_id), server=facts)
            return dict(changed=True, holder=deploy_lock.release_dead(conn, database, run_id), server=facts)
        if params['state'] == 'inspect':
            return dict(changed=False, holder=deploy_lock.current_holder(conn, database), server=facts)
        if module.check_mode:
            return dict(changed=False, holder=None, server=facts)
        if params['state'] == 'released':
            released = deploy_lock.release(conn, database, run_id)
            return dict(changed=released, holder=None, server=facts)
        guardian = None
        controller = interrupts.controller_pid()
        if params['guardian'] and controller is not None:
            deploy_lock.ensure_lock_table(conn, database)  # the guardian watches the row from its first beat
            guardian = deploy_lock.start_guardian(ConnectionParams.from_module_params(params), database, run_id, controller,
                                                  params['wait'])
        try:
            taken = deploy_lock.acquire(conn, database, run_id, params['holder'], params['ttl'], params['wait'],
                                        connection_id=guardian['connection_id'] if guardian else None,
                                        stopped=interrupts.stop_requested_by_controller)
        except SchemagateError:
            if guardian:
                deploy_lock.stop_guardian(guardian['pid'])
            raise
        if guardian and not taken['changed']:
            deploy_lock.stop_guardian(guardian['pid'])  # re-entrant: the first guardian keeps watching
            guardian = None
        return dict(changed=taken['changed'], holder=taken['holder'], guardian=guardian, server=facts)


if __name__ == '__main__':
    main()
