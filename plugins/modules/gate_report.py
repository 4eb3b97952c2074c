#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: gate_report
short_description: Write a gate run's report (gate.json, junit.xml, summary.md)
version_added: "0.1.0"
description:
  - Collects the check results of a gate run, turns the rehearsal copy, seed and migrate steps into checks
    (O(steps)), applies the waivers of O(expectations_file), and writes C(gate.json) (every check, figure and difference),
    C(junit.xml) (one testcase per check, for CI systems) and C(summary.md) (a pass/fail table and the benchmark
    table against thresholds) into O(report_dir), each with mode 0600.
  - Does not connect to any database. Always reports C(changed=false), since the report is an artifact of the
    run, not state on the target.
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
options:
  report_dir:
    description: Directory to write into (created if missing).
    type: path
    required: true
  run:
    description: Facts about the run shown in the report (run_id, database, server, pending, started_at, seconds).
    type: dict
    required: true
  checks:
    description:
      - Check results returned by the checking modules (dicts with code, name, passed, message, details, figures,
        seconds, warning, subject). Every code must be registered (see the README's check list).
    type: list
    elements: dict
    required: true
  steps:
    description:
      - Registered results of the steps that are not checks themselves, turned into checks here.
      - V(copy) the loop results of M(schemagate.mysql.clone), V(seed) the results of M(schemagate.mysql.seed)
        before and after migrating, V(migrate) the result of M(schemagate.mysql.migrate) on the rehearsal copy,
        V(error) why the gate stopped early (empty when it did not).
    type: dict
    default: {}
  expectations_file:
    description:
      - The expectations file whose C(waivers) (C(code), C(object), C(reason)) turn covered failures into
        reported ones. Every waiver is listed in the report, with what it covered.
    type: path
attributes:
  check_mode:
    support: full
    details: The report is written in check mode too, since the gate itself runs in check mode.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Write the gate report
  schemagate.mysql.gate_report:
    report_dir: "{{ playbook_dir }}/../reports/{{ gate_run_id }}"
    run: {run_id: "{{ gate_run_id }}", database: askproai_db}
    checks: "{{ gate_verify.checks + gate_benchmark.checks }}"
'''

RETURN = r'''
passed:
  description: Whether no check failed that blocks (failures reported as warnings and waived failures do not).
  returned: always
  type: bool
summary:
  description: One line; the count of checks and the first failure.
  returned: always
  type: str
failed_checks:
  description: "C(code group / name: message) of every blocking failure."
  returned: always
  type: list
  elements: str
waived_checks:
  description: "C(code name: reason) of every failure a waiver covered."
  returned: always
  type: list
  elements: str
stale_waivers:
  description: Waivers that covered no failure (the check passes now; remove them).
  returned: always
  type: list
  elements: str
paths:
  description: Paths of the written files.
  returned: always
  type: dict
  sample: {json: reports/1/gate.json, junit: reports/1/junit.xml, summary: reports/1/summary.md}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.schemagate.mysql.plugins.module_utils.core.checks import CheckResult, apply_waivers, failures, summary_line
from ansible_collections.schemagate.mysql.plugins.module_utils.core.errors import SchemagateError
from ansible_collections.schemagate.mysql.plugins.module_utils.core.expectations import load_expectations
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.report import write_report
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.step_checks import step_checks


def main():
    module = AnsibleModule(
        argument_spec=dict(
            report_dir=dict(type='path', required=True),
            run=dict(type='dict', required=True),
            checks=dict(type='list', elements='dict', required=True),
            steps=dict(type='dict', default={}),
            expectations_file=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    try:
        results = step_checks(module.params['steps']) + [CheckResult.from_dict(c) for c in module.params['checks']]
    except (KeyError, TypeError, ValueError) as exc:
        module.fail_json(msg=f"checks must be check results (code, name, passed...): {exc}")
    try:
        waivers = load_expectations(module.params['expectations_file']).waivers if module.params['expectations_file'] else []
        stale = apply_waivers(results, waivers)
        paths = write_report(module.params['report_dir'], module.params['run'], results, waivers)
    except SchemagateError as exc:
        module.fail_json(msg=exc.message)
    # The report is an artifact of the run, not managed state: writing it changes nothing.
    module.exit_json(
        changed=False,
        passed=not failures(results),
        summary=summary_line(results),
        failed_checks=[f"{r.code} {r.group} / {r.name}: {r.message}" for r in failures(results)],
        waived_checks=[f"{r.code} {r.name}: {r.waived}" for r in results if r.verdict == "waived"],
        stale_waivers=[f"{w.code} {w.subject}: {w.reason}" for w in stale],
        paths=paths,
    )


if __name__ == '__main__':
    main()
