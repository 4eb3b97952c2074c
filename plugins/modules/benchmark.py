#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: benchmark
short_description: Time annotated read-only queries and check that the intended indexes serve them
version_added: "0.1.0"
description:
  - Runs the queries of a benchmark file (for example C(sql/performance_benchmarks.sql), whose header documents the
    annotation grammar) against one database, normally the gate's seeded scratch clone of production.
  - Each query is annotated with a name, a p95 threshold in milliseconds, the index that must serve it and optionally a
    C(params) query that picks realistic parameter values from the data.
  - Before measuring, C(ANALYZE TABLE) refreshes the optimizer statistics of the tables the queries read, since the
    statistics of freshly seeded tables can be stale. Data and schema are never changed.
  - Each query is warmed up, then timed O(runs) times on the open server connection (execute and fetch, no process
    start-up). Its plan is read with C(EXPLAIN).
  - A query fails its check when its p95 exceeds the threshold, when the optimizer does not choose the expected index,
    or when the plan reads a table of more than O(full_scan_rows) rows with a full scan.
  - Failed checks do not fail the task; the gate decides. The task fails only on bad input (a malformed benchmark file,
    an unknown database) or when the server cannot be reached.
  - C(ANALYZE TABLE) can briefly block other sessions on some MySQL versions; point the module at a scratch clone, not at
    a busy production database.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
options:
  database:
    description: Database whose tables the queries read.
    type: str
    required: true
    aliases: [ db ]
  benchmark_file:
    description:
      - Annotated SQL file of benchmark queries on the host that executes the module.
      - Optional; without it no query is timed and the check C(BM102) is reported as skipped.
    type: path
  warmup:
    description: Untimed executions of each query before measuring, to load caches.
    type: int
    default: 3
  runs:
    description: Timed executions of each query; p50, p95, p99, max and mean are taken over these.
    type: int
    default: 30
  full_scan_rows:
    description: A full table scan (C(EXPLAIN) type C(ALL)) of a table estimated to hold more rows than this fails the check.
    type: int
    default: 1000
attributes:
  check_mode:
    support: full
    details: The module only reads (queries run in read-only transactions), so check mode runs it unchanged.
  diff_mode:
    support: none
seealso:
  - module: schemagate.mysql.migrate
'''

EXAMPLES = r'''
- name: Benchmark the application's queries on the rehearsal clone
  schemagate.mysql.benchmark:
    config_file: /etc/schemagate/gate.cnf
    database: askproai_db_sg_rehearsal
    benchmark_file: "{{ playbook_dir }}/../sql/performance_benchmarks.sql"
  register: query_benchmark

- name: Stop when a query is too slow or misses its index
  ansible.builtin.assert:
    that: query_benchmark.passed
    fail_msg: "{{ query_benchmark.summary }}"

- name: Longer measurement with a stricter full-scan limit
  schemagate.mysql.benchmark:
    login_host: db-rehearsal.example.com
    login_user: schemagate_gate
    login_password: "{{ vault_gate_password }}"
    database: askproai_db_sg_rehearsal
    benchmark_file: /srv/app/sql/performance_benchmarks.sql
    warmup: 5
    runs: 100
    full_scan_rows: 100
'''

RETURN = r'''
passed:
  description: Whether every query met its threshold and its plan.
  returned: always
  type: bool
  sample: false
summary:
  description: One line with the number of checks and the first failure.
  returned: always
  type: str
  sample: "1 of 13 checks failed; first: benchmark assigned_callbacks: expected index callback_requests.idx_assigned_status, ..."
checks:
  description:
    - One result per query, in file order. C(figures) holds C(p50_ms), C(p95_ms), C(p99_ms), C(max_ms), C(mean_ms),
      C(runs), C(warmup), C(rows_returned), C(threshold_ms), C(expected_index), the C(plan) (table, type, key, rows per
      line), C(plan_ok) (the plan used the expected indexes and no large full scan), the C(params) used and
      C(analyzed_tables), the tables C(ANALYZE TABLE) refreshed before measuring.
  returned: always
  type: list
  elements: dict
  sample:
    - group: benchmark
      name: callback_queue_sla
      passed: true
      message: "p95 2.30 ms <= 50 ms threshold; uses callback_requests.idx_status_priority_expires"
      details: ["callback_requests ref key=idx_status_priority_expires rows~803"]
      figures: {threshold_ms: 50.0, p50_ms: 2.053, p95_ms: 2.303, p99_ms: 2.41, max_ms: 2.41, mean_ms: 2.1, runs: 30,
                warmup: 3, rows_returned: 50, expected_index: ["callback_requests.idx_status_priority_expires"],
                plan: [{table: callback_requests, type: ref, key: idx_status_priority_expires, rows: 803}], plan_ok: true,
                params: {company_id: 19}, analyzed_tables: [callback_requests]}
      seconds: 0.09
      warning: ""
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
  sample: {flavor: mariadb, version: 10.11.6-MariaDB, label: MariaDB 10.11.6}
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.benchmark import run_benchmarks
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, checks_result, connection, run


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            benchmark_file=dict(type='path'),
            warmup=dict(type='int', default=3),
            runs=dict(type='int', default=30),
            full_scan_rows=dict(type='int', default=1000),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: benchmark(module))


def benchmark(module):
    params = module.params
    with connection(module, params['database']) as (conn, server):
        results = run_benchmarks(
            conn, server, params['database'], params['benchmark_file'] or None,
            warmup=params['warmup'], runs=params['runs'], full_scan_rows=params['full_scan_rows'],
        )
    return checks_result(results, server)


if __name__ == '__main__':
    main()
