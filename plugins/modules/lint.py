#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: lint
short_description: Lint the pending migrations against production's catalog and probe production's rows
version_added: "0.2.0"
description:
  - Parses every statement of the migrations pending on O(database) and reports findings with stable codes,
    each with its file and line (DS101 drop table, DS102 drop column, DS103 rename, DS104 rows deleted, MF101
    NOT NULL without default on a populated table, MF102 type narrowing, MF103 ENUM/SET values removed or
    reordered, MF104 foreign key dropped, MY101 not safe to re-run, DM101 data migration inside a DDL migration).
  - With O(data_probes), asks production's rows whether a new UNIQUE/PRIMARY KEY, NOT NULL, foreign key, narrower
    type, removed ENUM value or CHECK will fail on them (DP101-DP106), read-only, each SELECT bounded by
    O(probe_timeout).
  - A C(-- schemagate:allow <CODE> <reason>) comment on a statement turns its finding from blocking into reported.
  - Only reads production, in a read-only session.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
  - schemagate.mysql.migration_set
options:
  database:
    description: The production database.
    type: str
    required: true
    aliases: [ db ]
  data_probes:
    description: Probe production's rows for statements that add a constraint (DP101-DP106).
    type: bool
    default: true
  probe_timeout:
    description: Seconds each probe SELECT may run (MariaDB max_statement_time, MySQL max_execution_time).
    type: float
    default: 5
  data_migration_rows:
    description: A data migration (DM101) on a table with at least this many rows blocks; smaller ones warn.
    type: int
    default: 100000
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Lint the pending migrations and probe production's rows
  schemagate.mysql.lint:
    config_file: /etc/schemagate/gate.cnf
    database: askproai_db
    migrations_dir: "{{ playbook_dir }}/../migrations"
    probe_timeout: 10
  register: gate_lint
'''

RETURN = r'''
passed:
  description: Whether no finding blocks (allowed, warned and informational findings do not).
  returned: always
  type: bool
summary:
  description: One line; the count of checks and the first blocking finding.
  returned: always
  type: str
checks:
  description: One result per finding and per migration (groups C(lint) and C(data)), with C(figures.file) and C(figures.line).
  returned: always
  type: list
  elements: dict
pending:
  description: Names of the migrations linted.
  returned: always
  type: list
  elements: str
altered_tables:
  description: Pre-existing tables the pending statements alter (the DDL prediction runs for these).
  returned: always
  type: list
  elements: str
production:
  description: What the DDL prediction needs of production, for the C(production) option of M(schemagate.mysql.ddl_probe).
  returned: always
  type: dict
  sample: {server: {flavor: mariadb, version: 10.11.19-MariaDB}, variables: {alter_algorithm: DEFAULT},
           tables: {appointments: {rows: 200000, has_rows: true, data_bytes: 30949376, index_bytes: 0, row_format: DYNAMIC}}}
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, checks_result, connection, run
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.lint import LintSettings, lint_pending
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.options import MIGRATION_SET_ARGUMENT_SPEC, load_set
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.laravel import with_artisan_sql
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.runner import MigrationRunner


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            data_probes=dict(type='bool', default=True),
            probe_timeout=dict(type='float', default=5),
            data_migration_rows=dict(type='int', default=100000),
            **MIGRATION_SET_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: lint(module))


def lint(module):
    params = module.params
    settings, migrations = load_set(params, params['database'])
    with connection(module, settings.database) as (conn, server):
        with conn.cursor() as cur:
            cur.execute(server.read_only_session)
        pending = with_artisan_sql(conn, settings, migrations, MigrationRunner(conn, settings, migrations).pending())
        outcome = lint_pending(
            conn, server, settings.database, pending, LintSettings(server, params['data_migration_rows']),
            probes=params['data_probes'], probe_timeout=params['probe_timeout'], exclude=settings.bookkeeping_tables,
        )
    return checks_result(outcome.results, server, pending=[m.name for m in pending], altered_tables=outcome.altered_tables,
                         production=outcome.production)


if __name__ == '__main__':
    main()
