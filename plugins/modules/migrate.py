#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: migrate
short_description: Apply, roll back or report plain-SQL schema migrations (Laravel-compatible bookkeeping)
version_added: "0.1.0"
description:
  - Runs the C(.up.sql)/C(.down.sql) migrations of a directory against one database, with the semantics of
    Laravel's C(migrate), C(migrate --step), C(migrate:rollback) and C(migrate:rollback --step=N).
  - Applied migrations are recorded in a Laravel-compatible table (C(id), C(migration), C(batch)), so a Laravel
    application on the same database agrees about what ran. A companion table C(schemagate_<migrations_table>)
    keeps the checksum of each applied up file and a journal of the migration in flight.
  - An applied migration whose up file changed is refused. A run that dies half-way is reported as C(partial)
    by O(command=status); O(command=rollback) undoes it first.
  - Runs hold a per-database advisory lock (C(GET_LOCK)), released by the server if the session dies, and set a
    short C(lock_wait_timeout) so DDL never queues behind a long transaction.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.connection
options:
  database:
    description: Database to migrate.
    type: str
    required: true
    aliases: [ db ]
  migrations_dir:
    description:
      - Directory of migration files on the host that executes the module, named
        C(YYYY_MM_DD_HHMMSS_name.up.sql) with a matching C(YYYY_MM_DD_HHMMSS_name.down.sql).
    type: path
    required: true
  command:
    description:
      - V(migrate) applies pending migrations; V(rollback) undoes the last batch (or O(steps) migrations);
        V(status) only reports.
    type: str
    choices: [ migrate, rollback, status ]
    default: migrate
  step:
    description: With V(migrate), give each migration its own batch (Laravel's C(--step)).
    type: bool
    default: false
  steps:
    description: With V(rollback), undo this many migrations across batches instead of the last batch.
    type: int
  migrations_table:
    description: Name of the Laravel-compatible table that records applied migrations.
    type: str
    default: migrations
  lock_timeout:
    description: Seconds to wait for another run's deploy lock on the same database before failing.
    type: int
    default: 60
  ddl_lock_wait_timeout:
    description:
      - Session C(lock_wait_timeout) for migration statements, in seconds. A statement that cannot get its
        metadata lock in time fails and names the open transactions that block it.
    type: int
    default: 5
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: Pretend mode; returns the SQL that would run and changes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
seealso:
  - name: Laravel migrations
    description: The bookkeeping this module is compatible with.
    link: https://laravel.com/docs/migrations
'''

EXAMPLES = r'''
- name: Apply pending migrations as one batch
  schemagate.mysql.migrate:
    login_host: db1.example.com
    login_user: deploy
    login_password: "{{ vault_deploy_password }}"
    database: askproai_db
    migrations_dir: "{{ playbook_dir }}/../migrations"

- name: Apply each pending migration as its own batch
  schemagate.mysql.migrate:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    migrations_dir: /srv/app/migrations
    step: true

- name: Roll back the last two migrations
  schemagate.mysql.migrate:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    migrations_dir: /srv/app/migrations
    command: rollback
    steps: 2

- name: Show applied and pending migrations
  schemagate.mysql.migrate:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    migrations_dir: /srv/app/migrations
    command: status
  register: migration_status
'''

RETURN = r'''
command:
  description: The command that ran.
  returned: always
  type: str
  sample: migrate
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
  sample: {flavor: mariadb, version: 10.11.6-MariaDB, label: MariaDB 10.11.6}
status:
  description: Every known migration after the run, applied ones first in Laravel order.
  returned: always
  type: list
  elements: dict
  sample:
    - {migration: 2025_10_01_060100_create_notification_configurations_table, state: applied, batch: 1,
       checksum: ok, detail: ""}
pending:
  description: Names of migrations not applied after the run (in check mode, before it).
  returned: always
  type: list
  elements: str
migrations:
  description:
    - The migrations run (or, in check mode, that would run), each with direction, batch, the statements and
      the duration in milliseconds.
  returned: always
  type: list
  elements: dict
  sample:
    - {migration: 2025_10_01_060100_create_notification_configurations_table, direction: up, batch: 3,
       statements: ["CREATE TABLE notification_configurations (...)"], duration_ms: 41.7}
failed_migration:
  description: The migration that failed.
  returned: failure of a migration statement
  type: str
failed_statement:
  description: The statement that failed.
  returned: failure of a migration statement
  type: str
failed_statement_index:
  description: 1-based position of the failed statement in its file.
  returned: failure of a migration statement
  type: int
created_objects:
  description: Objects the failed migration had created before it failed (for example C(table foo), C(index foo.bar)).
  returned: failure of a migration statement
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.migration_files import load_migrations
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, connection, run, server_facts
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.runner import MigrationRunner, RunnerSettings


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            migrations_dir=dict(type='path', required=True),
            command=dict(type='str', default='migrate', choices=['migrate', 'rollback', 'status']),
            step=dict(type='bool', default=False),
            steps=dict(type='int'),
            migrations_table=dict(type='str', default='migrations'),
            lock_timeout=dict(type='int', default=60),
            ddl_lock_wait_timeout=dict(type='int', default=5),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: migrate(module))


def migrate(module):
    params = module.params
    settings = RunnerSettings(
        database=params['database'],
        migrations_table=params['migrations_table'],
        lock_timeout=params['lock_timeout'],
        ddl_lock_wait_timeout=params['ddl_lock_wait_timeout'],
    )
    migrations = load_migrations(params['migrations_dir'])
    with connection(module, settings.database) as (conn, server):
        runner = MigrationRunner(conn, settings, migrations)
        command = params['command']
        result = None
        if command == 'migrate':
            result = runner.migrate(step=params['step'], pretend=module.check_mode)
        elif command == 'rollback':
            result = runner.rollback(steps=params['steps'], pretend=module.check_mode)
        return dict(
            changed=bool(result and result.changed),
            command=command,
            server=server_facts(server),
            migrations=[r.as_dict() for r in result.runs] if result else [],
            status=[s.as_dict() for s in runner.status()],
            pending=[m.name for m in runner.pending()],
        )


if __name__ == '__main__':
    main()
