#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: deploy_report
short_description: Decide how a deploy ended and write its report
version_added: "0.2.0"
description:
  - Decides the outcome of a deploy from what its steps returned (C(deployed), C(not started), C(aborted before
    any migration), C(rolled back), or C(FAILED; production could not be verified)) and writes
    C(<state_dir>/<database>-<run_id>.json) (mode 0600) with the outcome, the cause, the gate's verdict, the backup,
    each migration with its duration, the smoke test and any emergency rollback.
  - Does not connect to any database. The report is an artifact of the run, so the module reports C(changed=false).
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
options:
  state_dir:
    description: Directory of the deploy reports (created 0700 if missing).
    type: path
    required: true
  database:
    description: The database deployed.
    type: str
    required: true
  run_id:
    description: The deploy's run id.
    type: str
    required: true
  host:
    description: The inventory host.
    type: str
  started_at:
    description: When the deploy started, as shown in the report.
    type: str
  seconds:
    description: How long the deploy took, in seconds.
    type: float
    default: 0
  failure:
    description: The step that failed and why; empty when nothing failed.
    type: str
    default: ''
  gate:
    description: The registered result of the gate's report step, plus C(skipped) when the gate was skipped.
    type: dict
    default: {}
  fingerprint_before:
    description: Production's schema fingerprint before the deploy.
    type: str
  pending_before:
    description: The migrations pending before the deploy.
    type: list
    elements: str
    default: []
  backup:
    description: The registered result of M(schemagate.mysql.backup).
    type: dict
    default: {}
  migrate:
    description: The registered result of M(schemagate.mysql.migrate) on production.
    type: dict
    default: {}
  rehearsal:
    description:
      - The registered result of M(schemagate.mysql.migrate) on the restored backup (the rehearsal on production's
        rows, on the rehearsal server); its durations are reported per migration.
    type: dict
    default: {}
  smoke:
    description: The registered result of the smoke test.
    type: dict
    default: {}
  unchanged:
    description: The registered result of the check that production is unchanged, when the deploy stopped before migrating.
    type: dict
    default: {}
  rollback_verify:
    description: The registered result of the emergency rollback's verification.
    type: dict
    default: {}
  rollback_result:
    description: The registered result of the emergency rollback (down migrations or restore).
    type: dict
    default: {}
  interrupted:
    description:
      - What interrupted the deploy (C(SIGINT), C(SIGTERM), C(SIGHUP), C(lost controller)); empty when nothing did.
      - The outcome then says whether production is untouched or rolled back to its pre-deploy schema.
    type: str
    default: ''
  locked:
    description: Whether the deploy lock was taken.
    type: bool
    default: true
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Write the deploy report
  schemagate.mysql.deploy_report:
    state_dir: /var/lib/schemagate/deploys
    database: askproai_db
    run_id: "{{ deploy_run_id }}"
    failure: "{{ deploy_failure | default('') }}"
    smoke: "{{ smoke_test_result | default({}) }}"
  register: deploy_report
'''

RETURN = r'''
outcome:
  description: How the deploy ended.
  returned: always
  type: str
  sample: deployed
path:
  description: The report written.
  returned: always
  type: str
undone:
  description: What the emergency rollback undid (the migrations, or the backup restored), or C(nothing).
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.schemagate.mysql.plugins.module_utils.core.errors import SchemagateError
from ansible_collections.schemagate.mysql.plugins.module_utils.deploy.deploy_report import build_report, decide, undone_summary, write_report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state_dir=dict(type='path', required=True),
            database=dict(type='str', required=True),
            run_id=dict(type='str', required=True),
            host=dict(type='str'),
            started_at=dict(type='str'),
            seconds=dict(type='float', default=0),
            failure=dict(type='str', default=''),
            gate=dict(type='dict', default={}),
            fingerprint_before=dict(type='str'),
            pending_before=dict(type='list', elements='str', default=[]),
            backup=dict(type='dict', default={}),
            migrate=dict(type='dict', default={}),
            rehearsal=dict(type='dict', default={}),
            smoke=dict(type='dict', default={}),
            unchanged=dict(type='dict', default={}),
            rollback_verify=dict(type='dict', default={}),
            rollback_result=dict(type='dict', default={}),
            interrupted=dict(type='str', default=''),
            locked=dict(type='bool', default=True),
        ),
        supports_check_mode=False,
    )
    p = module.params
    outcome = decide(p['failure'], p['smoke'], p['unchanged'], p['rollback_verify'], p['interrupted'], p['migrate'], p['locked'])
    try:
        path = write_report(p['state_dir'], build_report(p, outcome, p['seconds']))
    except SchemagateError as exc:
        module.fail_json(msg=exc.message)
    module.exit_json(changed=False, outcome=outcome.value, path=path, undone=undone_summary(p['rollback_result']))


if __name__ == '__main__':
    main()
