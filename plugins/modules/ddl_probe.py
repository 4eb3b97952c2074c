#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: ddl_probe
short_description: Find on the engine what each pending ALTER does to a pre-existing table, measure it and scale it
version_added: "0.2.0"
description:
  - For every pending statement that alters a table production already has, tries it on an empty copy of the
    table (made from O(database), which holds production's structure) with C(ALGORITHM=INSTANT), then
    C(NOCOPY), C(INPLACE, LOCK=NONE), C(INPLACE, LOCK=SHARED) and C(COPY), and reports what the engine does and
    whether writes are blocked (OD101, OD102, OD104).
  - With O(measure), runs each such statement on a second copy holding O(database)'s seeded rows while another
    session writes to the table, records the write stall, and scales the duration to production's size from
    O(production) (OD103).
  - Blocks a statement that copies the table or blocks writes on a table above O(threshold_rows) rows or
    O(threshold_bytes) bytes, unless annotated (PL101).
  - Works in two scratch databases (C(<scratch_base>_sg_ddlp_<run_id>), C(<scratch_base>_sg_ddlm_<run_id>)) on the
    server it connects to, dropped at the end; O(database) is only read.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
  - schemagate.mysql.migration_set
options:
  database:
    description: The copy holding production's structure (and, to measure, seeded rows), before migrating.
    type: str
    required: true
    aliases: [ db ]
  scratch_base:
    description: The production database's name; the scratch copies are named after it.
    type: str
    required: true
  run_id:
    description: Identifier of the gate run, recorded in the scratch copies' markers.
    type: str
    required: true
  pending:
    description: Names of the migrations pending on production (as the preflight found them).
    type: list
    elements: str
    required: true
  production:
    description: What M(schemagate.mysql.lint) read on production (its C(production) result).
    type: dict
    required: true
  measure:
    description: Measure each statement on the seeded copy with a concurrent writer.
    type: bool
    default: true
  lock_wait_timeout:
    description: Seconds a statement on the copy waits for its metadata lock before failing (OD104).
    type: int
    default: 2
  max_copy_rows:
    description: Seeded rows copied per table into the measuring copy.
    type: int
    default: 200000
  threshold_rows:
    description: PL101 blocks a copying or write-blocking statement on a table with at least this many rows.
    type: int
    default: 1000000
  threshold_bytes:
    description: ... or at least this many data and index bytes.
    type: int
    default: 1073741824
  alter_wrapper:
    description: Whether the deploy has an alter wrapper configured (an C(alter-wrapper) annotated statement passes PL101).
    type: bool
    default: false
  keep_copies:
    description: Keep the scratch copies (for debugging).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Predict lock level and duration of each pending ALTER
  schemagate.mysql.ddl_probe:
    database: askproai_db_sg_gate_20261124130000
    scratch_base: askproai_db
    run_id: "20261124130000"
    migrations_dir: "{{ playbook_dir }}/../migrations"
    pending: "{{ gate_preflight.pending }}"
    production: "{{ gate_lint.production }}"
  register: gate_ddl
'''

RETURN = r'''
passed:
  description: Whether no finding blocks.
  returned: always
  type: bool
summary:
  description: One line; the count of checks and the first blocking finding.
  returned: always
  type: str
checks:
  description: One result per finding (groups C(ddl) and C(policy)), with C(figures.file) and C(figures.line).
  returned: always
  type: list
  elements: dict
predictions:
  description: Per statement, the algorithm, lock, whether writes are blocked, measured and predicted seconds and the model.
  returned: always
  type: list
  elements: dict
server:
  description: Flavour and version of the server holding the copies.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.core.bookkeeping import MARKER_TABLE
from ansible_collections.schemagate.mysql.plugins.module_utils.core.connection import ConnectionParams, connect
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, checks_result, connection, run
from ansible_collections.schemagate.mysql.plugins.module_utils.gate import ddl_probe
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.lint import finish
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.statement_walk import read_catalog, walk
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.laravel import with_artisan_sql
from ansible_collections.schemagate.mysql.plugins.module_utils.migrate.options import MIGRATION_SET_ARGUMENT_SPEC, load_set


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            scratch_base=dict(type='str', required=True),
            run_id=dict(type='str', required=True),
            pending=dict(type='list', elements='str', required=True),
            production=dict(type='dict', required=True),
            measure=dict(type='bool', default=True),
            lock_wait_timeout=dict(type='int', default=2),
            max_copy_rows=dict(type='int', default=200000),
            threshold_rows=dict(type='int', default=1000000),
            threshold_bytes=dict(type='int', default=1073741824),
            alter_wrapper=dict(type='bool', default=False),
            keep_copies=dict(type='bool', default=False),
            **MIGRATION_SET_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: probe(module))


def probe(module):
    params = module.params
    wanted = set(params['pending'])
    set_settings, migrations = load_set(params, params['database'])
    pending = [m for m in migrations if m.name in wanted]
    settings = ddl_probe.ProbeSettings(
        lock_wait_timeout=params['lock_wait_timeout'], measure=params['measure'], max_copy_rows=params['max_copy_rows'],
        threshold_rows=params['threshold_rows'], threshold_bytes=params['threshold_bytes'], alter_wrapper=params['alter_wrapper'],
    )
    production = params['production']
    with connection(module) as (conn, server):
        pending = with_artisan_sql(conn, set_settings, migrations, pending)  # a Laravel app's: the SQL artisan would run
        catalog = read_catalog(conn, params['database'], server, exclude=(MARKER_TABLE,))
        tables = ddl_probe.altered_tables(pending, catalog)
        results, predictions = [], []
        if tables:
            copies = ddl_probe.prepare_copies(conn, params['database'], params['scratch_base'], params['run_id'], tables,
                                              production.get('tables') or {}, settings.measure, settings.max_copy_rows)
            try:
                results, predictions = ddl_probe.probe_migrations(
                    conn, server, copies, pending, production, settings,
                    lambda: connect(ConnectionParams.from_module_params(params)),
                )
            finally:
                if not params['keep_copies']:
                    ddl_probe.drop_copies(conn, copies)
            results = finish(results, walk(pending, catalog), judged_groups=("ddl", "policy"))
    return checks_result(results, server, predictions=[p.as_dict() for p in predictions])


if __name__ == '__main__':
    main()
