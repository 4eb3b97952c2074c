#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: rehearsal_server
short_description: Provide the server the gate rehearses on, and compare it with production's
version_added: "0.2.0"
description:
  - With O(mode=embedded) and O(state=present), starts a private, throwaway MariaDB/MySQL instance on the host
    that runs the module (the sandbox machinery, C(mariadbd) or C(mysqld) must be installed); it has its own 0700
    directory with datadir and Unix socket, no TCP port, no binary log, durability off. A watchdog process stops
    it and deletes its directory as soon as the ansible-playbook process (or O(watch_pid)) is gone, so an
    interrupted or killed controller leaves nothing running.
  - With O(mode=server), the rehearsal server is a configured staging server (O(target)); it must not be
    production's own server.
  - With O(mode=production_server), the rehearsal runs on production's own server, in scratch databases, with
    C(sql_log_bin=0) (refused with one line when the account may not set it), and the run reports it as a warning.
  - In every mode the flavour and version of both servers are read; a different flavour is a blocking check,
    a different major.minor version a warning. The connection options of the module are production's; it only
    reads production.
  - O(state=absent) stops the embedded server and deletes its directory; O(state=kept) leaves it running
    (for debugging, gate_keep_scratch) and tells its watchdog to leave it.
  - For fleets (README, section Fleets), O(state=started) only starts an embedded server (production is not read),
    once for the hosts that share it; each of them then runs O(state=present) with its O(path), which starts
    nothing and compares production's server with it.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
  - schemagate.mysql.target
options:
  state:
    description:
      - V(present) provides the server (with O(path), an embedded server already started) and compares it with
        production's; V(started) only starts an embedded server; V(absent) tears an embedded one down, V(kept)
        leaves it running.
    type: str
    choices: [ present, started, absent, kept ]
    default: present
  mode:
    description: Where the rehearsal happens.
    type: str
    choices: [ embedded, server, production_server ]
    default: embedded
  path:
    description:
      - The embedded server's directory, as O(state=present) or V(started) returned it (with O(state=absent) or
        V(kept)); with O(state=present), the server there is used instead of starting one.
    type: path
  parent_dir:
    description: Where the embedded server's directory is created; the system's temporary directory by default.
    type: path
  buffer_pool:
    description: InnoDB buffer pool of the embedded server.
    type: str
    default: 256M
  watch_pid:
    description: The process whose end stops the embedded server; the ansible-playbook process by default.
    type: int
attributes:
  check_mode:
    support: none
    details: The rehearsal server is the gate's scratch space; the gate runs it with check_mode false.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Start the embedded rehearsal server
  schemagate.mysql.rehearsal_server:
    config_file: /etc/schemagate/gate.cnf
  register: rehearsal

- name: Start one embedded server for the whole batch (a fleet)
  schemagate.mysql.rehearsal_server:
    state: started
  run_once: true
  register: shared

- name: Compare each host's production with it
  schemagate.mysql.rehearsal_server:
    config_file: /etc/schemagate/gate.cnf
    path: "{{ shared.path }}"

- name: Tear it down
  schemagate.mysql.rehearsal_server:
    state: absent
    path: "{{ rehearsal.path }}"

- name: Rehearse on a staging server instead
  schemagate.mysql.rehearsal_server:
    config_file: /etc/schemagate/gate.cnf
    mode: server
    target:
      login_host: staging-db.example.com
      login_user: schemagate_rehearsal
      login_password: "{{ vault_rehearsal_password }}"
'''

RETURN = r'''
path:
  description: Directory of the embedded server (datadir, socket, option file), removed at O(state=absent).
  returned: with O(mode=embedded)
  type: str
connection:
  description: How modules reach the embedded server (its socket and a 0600 option file; no password).
  returned: with O(mode=embedded) and O(state=present) or V(started)
  type: dict
  sample: {login_unix_socket: /tmp/sg-rehearsal-x1/mysqld.sock, config_file: /tmp/sg-rehearsal-x1/admin.cnf}
passed:
  description: Whether the rehearsal server can stand in for production (no blocking check failed).
  returned: with O(state=present)
  type: bool
checks:
  description: RH102 (where), RH103 (same flavour), RH104 (same major.minor), RH105 (production's own server).
  returned: with O(state=present)
  type: list
  elements: dict
server:
  description: Flavour and version of the rehearsal server.
  returned: with O(state=present)
  type: dict
production:
  description: Flavour and version of production's server.
  returned: with O(state=present)
  type: dict
identity:
  description: The rehearsal server's host name, port and data directory (what tells two servers apart).
  returned: with O(state=present)
  type: str
  sample: "staging-db:3306:/var/lib/mysql/"
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.errors import SchemagateError
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import (
    argument_spec, checks_result, connection, run, server_facts, target_argument_spec, target_connection)
from ansible_collections.schemagate.mysql.plugins.module_utils.core.session import same_server, server_identity
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.rehearsal import (
    EMBEDDED, MODES, PRODUCTION_SERVER, SERVER, compare_servers)
from ansible_collections.schemagate.mysql.plugins.module_utils.sandbox import sandbox


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            state=dict(type='str', default='present', choices=['present', 'started', 'absent', 'kept']),
            mode=dict(type='str', default=EMBEDDED, choices=list(MODES)),
            target=target_argument_spec(),
            path=dict(type='path'),
            parent_dir=dict(type='path'),
            buffer_pool=dict(type='str', default='256M'),
            watch_pid=dict(type='int'),
        ),
        required_if=[('state', 'absent', ['path']), ('state', 'kept', ['path'])],
        supports_check_mode=False,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: ensure(module))


def ensure(module):
    params = module.params
    if params['state'] in ('absent', 'kept'):
        return sandbox.stop_rehearsal(params['path'], keep=params['state'] == 'kept')
    mode = params['mode']
    if params['state'] == 'started':
        if mode != EMBEDDED:
            raise SchemagateError(f"state=started starts an embedded server; mode {mode} has nothing to start.")
        started = start_embedded(params)
        return dict(changed=True, mode=mode, path=started['path'], started=started,
                    connection=dict(login_unix_socket=started['socket'], config_file=started['config_file']))
    if mode == SERVER and not params['target']:
        raise SchemagateError("schemagate_rehearsal_mode: server needs the staging server's connection "
                              "(schemagate_rehearsal_login_host, ... or schemagate_rehearsal_config_file).")
    extra = {}
    shared = mode == EMBEDDED and bool(params['path'])  # started once for several hosts (state=started)
    if mode == EMBEDDED:
        started = sandbox.attach_rehearsal(params['path']) if shared else start_embedded(params)
        extra = dict(path=started['path'], started=started, shared=shared,
                     connection=dict(login_unix_socket=started['socket'], config_file=started['config_file']))
        module.params['target'] = dict(extra['connection'])
        where = f"private instance {started['path']}"
    elif mode == PRODUCTION_SERVER:
        module.params['target'] = dict(sql_log_bin=False)  # refused here, with one line, when it cannot be set
        where = "production's own server"
    else:
        where = "staging server"
    try:
        with connection(module) as (production, production_server):
            with target_connection(module) as (rehearsal, rehearsal_server):
                if mode != PRODUCTION_SERVER and same_server(production, rehearsal):
                    raise SchemagateError(
                        "The rehearsal server is production's own server: name a staging server, or opt in "
                        "explicitly with schemagate_rehearsal_mode: production_server.")
                results = compare_servers(mode, production_server, rehearsal_server, where)
                identity = ":".join(server_identity(rehearsal))
    except SchemagateError:
        if mode == EMBEDDED and not shared:
            sandbox.stop_rehearsal(extra['path'])
        raise
    return checks_result(results, rehearsal_server, changed=mode == EMBEDDED and not shared, mode=mode,
                         production=server_facts(production_server), identity=identity, **extra)


def start_embedded(params):
    watch = params['watch_pid'] or sandbox.controller_pid()
    if watch is None:
        raise SchemagateError("Cannot find the ansible-playbook process to watch (no /proc?): set watch_pid.")
    return sandbox.start_rehearsal(watch, params['parent_dir'], params['buffer_pool'])


if __name__ == '__main__':
    main()
