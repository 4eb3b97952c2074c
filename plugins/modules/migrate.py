#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: migrate
short_description: Apply, roll back or report SQL schema migrations in the team's own format and history
version_added: "0.1.0"
description:
  - Runs the migrations of a directory against one database, with the semantics of Laravel's C(migrate),
    C(migrate --step), C(migrate:rollback) and C(migrate:rollback --step=N).
  - Reads schemagate's own C(.up.sql)/C(.down.sql) pairs, golang-migrate, goose, dbmate and Flyway files (O(format)),
    and records applied migrations in that tool's own table with its exact columns and semantics (O(history)), so the
    tool itself agrees about what ran and a database it already manages is picked up as it is.
  - A companion table C(schemagate_<migrations_table>) keeps the checksum of each applied up, the batch and a journal
    of the migration in flight.
  - An applied migration whose up changed is refused. A migration that failed at its first statement having changed
    nothing is simply pending again; once its file is fixed, migrate runs it. One that stopped after some statements is
    C(partial) in O(command=status); O(command=migrate) resumes it when the statements that ran are unchanged, and
    O(command=rollback) undoes exactly what it applied (its down's statements whose objects exist), or says what
    remains and how to finish.
  - With O(source=laravel) a Laravel application's own PHP migrations are run by C(php artisan migrate --force)
    (C(migrate:rollback --step=1 --force) per migration to roll back, C(migrate --pretend) in check mode) against this
    module's connection, given to artisan in the C(DB_*) environment of the child process only. A PHP migration that
    fails having run some DDL (no Laravel row) is reported with what it created and is C(partial) in O(command=status);
    O(command=rollback) drops exactly that.
  - Runs hold a per-database advisory lock (C(GET_LOCK)), released by the server if the session dies, and set a
    short C(lock_wait_timeout) so DDL never queues behind a long transaction.
  - O(command=migrate) stops on SIGINT, SIGTERM or SIGHUP, on the controller's stop request (the
    C(schemagate.mysql.interrupts) callback) and when the controller is gone. A statement in flight is stopped with
    C(KILL QUERY) from a second connection; the migrations this run applied (and the one stopped halfway, by the
    partial rules) are then undone, newest first, and the task fails naming the signal and what it undid.
  - O(command=rollback) is not stopped by SIGINT, SIGTERM or SIGHUP; an undo runs to its end (only kill -9 stops it,
    and the journal then says what is left).
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
  - schemagate.mysql.migration_set
options:
  database:
    description: Database to migrate.
    type: str
    required: true
    aliases: [ db ]
  command:
    description:
      - V(migrate) applies pending migrations; V(rollback) undoes the last batch (or O(steps) migrations);
        V(status) only reports; V(baseline) records every migration up to O(baseline_version) as applied without
        running it, for a database that already has that schema but no history.
    type: str
    choices: [ migrate, rollback, status, baseline ]
    default: migrate
  step:
    description: With V(migrate), give each migration its own batch (Laravel's C(--step)).
    type: bool
    default: false
  steps:
    description: With V(rollback), undo this many migrations across batches instead of the last batch.
    type: int
  baseline_version:
    description:
      - With V(baseline), the newest version the database already has, as the format writes versions
        (C(2025_10_01_060100), C(20240101120000), C(1.2)). For Flyway this writes Flyway's own C(BASELINE) row.
    type: str
  lock_timeout:
    description: Seconds to wait for another run's migration lock (GET_LOCK) on the same database before failing.
    type: int
    default: 60
  ddl_lock_wait_timeout:
    description:
      - Session C(lock_wait_timeout) for migration statements, in seconds. A statement that cannot get its
        metadata lock in time fails and names the open transactions that block it.
    type: int
    default: 5
  alter_wrapper:
    description:
      - Run statements annotated C(-- schemagate:alter-wrapper <reason>) through this command instead of natively,
        like Skeema's C(--alter-wrapper). V(pt-online-schema-change) is the built-in template; otherwise a command
        line with the placeholders C({CLAUSES}), C({SCHEMA}), C({TABLE}), C({DEFAULTS_FILE}), C({HOST}), C({PORT}),
        C({SOCKET}), C({USER}) and C({LOCK_WAIT_TIMEOUT}).
      - The credentials reach the tool only through C({DEFAULTS_FILE}), C(/dev/fd/N), a 0600 option file in memory that
        the tool inherits (never on disk; elsewhere than Linux a 0600 file removed afterwards).
      - Empty runs every statement natively.
    type: str
    default: ''
  alter_wrapper_timeout:
    description: Seconds one run of the alter wrapper may take.
    type: int
    default: 86400
attributes:
  check_mode:
    support: full
    details: Pretend mode; returns the SQL that would run and changes nothing.
  diff_mode:
    support: none
seealso:
  - name: Laravel migrations
    description: The default bookkeeping this module is compatible with.
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

- name: Apply a golang-migrate directory, recording it in golang-migrate's schema_migrations
  schemagate.mysql.migrate:
    config_file: /etc/schemagate/deploy.cnf
    database: shop
    migrations_dir: /srv/shop/db/migrations
    format: golang-migrate

- name: Adopt a database that has the schema of Flyway versions up to 1.4 but no history
  schemagate.mysql.migrate:
    config_file: /etc/schemagate/deploy.cnf
    database: shop
    migrations_dir: /srv/shop/src/main/resources/db/migration
    format: flyway
    command: baseline
    baseline_version: "1.4"

- name: Run a MySQL 8 migration set on MariaDB with MySQL 8's default sql_mode
  schemagate.mysql.migrate:
    config_file: /etc/schemagate/deploy.cnf
    database: shop
    migrations_dir: /srv/shop/migrations
    sql_mode: mysql8

- name: Apply a Laravel application's own PHP migrations with artisan (php artisan migrate --force)
  schemagate.mysql.migrate:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    source: laravel
    laravel_app: /srv/app

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
  description:
    - Every known migration after the run, applied ones first (Laravel order for Laravel history, version order
      otherwise). C(state) is one of C(applied), C(pending), C(partial), C(failed) (failed at its first statement
      having changed nothing; migrate runs it again), C(checksum_changed) or C(missing_file).
    - C(reversible) is false for a migration without a down (only a restore undoes it).
  returned: always
  type: list
  elements: dict
  sample:
    - {migration: 2025_10_01_060100_create_notification_configurations_table, state: applied, batch: 1,
       checksum: ok, detail: "", reversible: true, version: 2025_10_01_060100}
source:
  description: Where the migrations came from, V(sql) files or a V(laravel) application's PHP migrations run by artisan.
  returned: always
  type: str
  sample: laravel
format:
  description: The format the migrations were read in (after detection).
  returned: always
  type: str
  sample: golang-migrate
history:
  description: Whose bookkeeping table records them, and its name.
  returned: always
  type: dict
  sample: {tool: golang-migrate, table: schema_migrations, journal: schemagate_schema_migrations}
notes:
  description: Remarks on the run, for example repeatable migrations a rollback leaves in place.
  returned: always
  type: list
  elements: str
baselined:
  description: With O(command=baseline), the migrations recorded as applied without running.
  returned: when command is baseline
  type: list
  elements: str
pending:
  description: Names of migrations not applied after the run (in check mode, before it).
  returned: always
  type: list
  elements: str
migrations:
  description:
    - The migrations run (or, in check mode, that would run), each with direction, batch, the statements, the
      duration in milliseconds and the objects it created or removed. A partial rollback also lists the statements
      it skipped and why.
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
failed_file:
  description: The file (and, with failed_statement_line, the line) of the statement that failed.
  returned: failure of a migration statement
  type: str
failed_statement_line:
  description: Line of the failed statement in failed_file.
  returned: failure of a migration statement
  type: int
alter_wrapper_runs:
  description: Each statement the alter wrapper ran, with the tool, its exit code, its seconds and its last output lines.
  returned: always
  type: list
  elements: dict
created_objects:
  description: Objects the failed migration had created before it failed (for example C(table foo), C(index foo.bar)).
  returned: failure of a migration statement
  type: list
  elements: str
interrupted:
  description: What stopped the run (C(SIGINT), C(SIGTERM), C(SIGHUP), C(lost controller)).
  returned: when command is migrate and it was interrupted
  type: str
production:
  description: After an interrupt, C(unchanged), C(rolled back) (this run's migrations undone) or C(half-migrated).
  returned: when command is migrate and it was interrupted
  type: str
undone:
  description: After an interrupt, the migrations the runner undid, newest first.
  returned: when command is migrate and it was interrupted
  type: list
  elements: str
completed:
  description: The migrations this run completed before the failure, briefly (statement counts and objects, not the SQL).
  returned: failure of a migration statement
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import (
    argument_spec, connection, open_connection, run, server_facts)
from ansible_collections.schemagate.mysql.plugins.module_utils.core import interrupts
from ansible_collections.schemagate.mysql.plugins.module_utils.core.connection import MySQLError
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.options import MIGRATION_SET_ARGUMENT_SPEC, load_set
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.laravel import runner_for
from ansible_collections.schemagate.mysql.plugins.module_utils.core.connection import ConnectionParams
from ansible_collections.schemagate.mysql.plugins.module_utils.deploy.alter_wrapper import AlterWrapper


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            command=dict(type='str', default='migrate', choices=['migrate', 'rollback', 'status', 'baseline']),
            step=dict(type='bool', default=False),
            steps=dict(type='int'),
            baseline_version=dict(type='str'),
            lock_timeout=dict(type='int', default=60),
            ddl_lock_wait_timeout=dict(type='int', default=5),
            alter_wrapper=dict(type='str', default=''),
            alter_wrapper_timeout=dict(type='int', default=86400),
            **MIGRATION_SET_ARGUMENT_SPEC
        ),
        required_if=[('command', 'baseline', ['baseline_version'])],
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: migrate(module))


def migrate(module):
    params = module.params
    settings, migrations = load_set(
        params, params['database'], lock_timeout=params['lock_timeout'], ddl_lock_wait_timeout=params['ddl_lock_wait_timeout']
    )
    with connection(module, settings.database) as (conn, server):
        wrapper = None
        if params['alter_wrapper'] and settings.source == 'sql':
            wrapper = AlterWrapper(params['alter_wrapper'], ConnectionParams.from_module_params(params), conn, settings.database,
                                   settings.ddl_lock_wait_timeout, params['alter_wrapper_timeout'])
        command = params['command']
        watch = None
        if command == 'migrate' and not module.check_mode and settings.source == 'sql':
            watch = interrupts.StopWatch()
            if watch.poll() is not None:
                return module.fail_json(msg=f"Interrupted ({watch.reason}) before any migration ran; production unchanged.",
                                        interrupted=watch.reason, production='unchanged', undone=[])
        runner = runner_for(conn, settings, migrations, statement_hook=wrapper, stop=watch)
        result = None
        extra = {}
        if command == 'migrate' and watch is not None:
            result = migrate_stoppably(module, settings.database, conn, runner, watch)
        elif command == 'migrate':
            result = runner.migrate(step=params['step'], pretend=module.check_mode)
        elif command == 'rollback' and not module.check_mode:
            # An undo is never left halfway by a signal: SIGINT/SIGTERM/SIGHUP are noted and the rollback runs to its
            # end (only kill -9 stops it; the journal then says what is left, and a rerun finishes it).
            with interrupts.StopWatch(controller=0) as undo_watch:
                undo_watch.ignoring = True
                result = runner.rollback(steps=params['steps'])
        elif command == 'rollback':
            result = runner.rollback(steps=params['steps'], pretend=module.check_mode)
        elif command == 'baseline':
            extra['baselined'] = [] if module.check_mode else runner.baseline(params['baseline_version'])
        return dict(
            changed=bool(result and result.changed) or bool(extra.get('baselined')),
            command=command,
            server=server_facts(server),
            format=migrations[0].migration_format if migrations else settings.tool,
            source=settings.source,
            history=dict(tool=settings.tool, table=settings.table, journal=settings.journal_table),
            migrations=[r.as_dict() for r in result.runs] if result else [],
            notes=list(result.notes) if result else [],
            status=[s.as_dict() for s in runner.status()],
            pending=[m.name for m in runner.pending()],
            alter_wrapper_runs=wrapper.runs if wrapper else [],
            **extra
        )


def migrate_stoppably(module, database, conn, runner, watch):
    """Migrate under a StopWatch: SIGINT/SIGTERM/SIGHUP, the controller's stop request or a lost controller
    stop the statement in flight (KILL QUERY from a second connection) and the runner undoes this run."""
    killer, _server = open_connection(module, database)

    def kill_in_flight(_reason):
        if runner.statement_in_flight:
            try:
                with killer.cursor() as cur:
                    cur.execute("KILL QUERY %s" % int(conn.thread_id()))
            except MySQLError:
                pass  # the statement ended meanwhile, or the server is gone: the runner finds out

    watch.on_stop = kill_in_flight
    try:
        with watch:
            return runner.migrate(step=module.params['step'])
    finally:
        killer.close()


if __name__ == '__main__':
    main()
