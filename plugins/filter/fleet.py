# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gate's fleet plan as a filter: which host rehearses for which, and the embedded servers to start."""
from __future__ import annotations

DOCUMENTATION = r'''
name: fleet_plan
short_description: Plan a fleet's rehearsals (representative host and slot per host)
version_added: "0.3.0"
description:
  - Takes one mapping per host (C(host), C(database), C(fingerprint), C(pending) as a list of C(name) and C(checksum),
    and optionally C(context), C(server), C(machine)) and returns, per host, the host that rehearses for it and its
    slot; hosts whose schema fingerprint, pending migrations and context are equal share one rehearsal.
  - The embedded rehearsal servers to start are returned too, one per machine and slot in use.
  - Pure; see plugins/module_utils/gate/fleet.py and the README section "Fleets".
author: schemagate contributors (@schemagate)
options:
  _input:
    description: The hosts, in play order (the first host of a group rehearses).
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Plan the rehearsals of this batch
  ansible.builtin.set_fact:
    gate_fleet_plan: "{{ ansible_play_batch | map('extract', hostvars, 'gate_fleet_member') | select('mapping') | schemagate.mysql.fleet_plan }}"
'''

RETURN = r'''
_value:
  description: C(hosts) (per host C(representative), C(slot), C(group), C(rehearses), C(reused), C(collision)),
    C(embedded_servers) (C(key), C(machine), C(slot), C(provider), C(hosts)), C(groups) and C(rehearsals).
  type: dict
'''

from ansible.errors import AnsibleFilterError
from ansible_collections.schemagate.mysql.plugins.module_utils.core.errors import SchemagateError
from ansible_collections.schemagate.mysql.plugins.module_utils.gate.fleet import plan_from_dicts


def fleet_plan(members):
    if not isinstance(members, (list, tuple)):
        raise AnsibleFilterError(f"fleet_plan takes a list of hosts, not {type(members).__name__}")
    try:
        return plan_from_dicts(members)
    except SchemagateError as exc:
        raise AnsibleFilterError(exc.message) from None


class FilterModule:
    def filters(self):
        return {"fleet_plan": fleet_plan}
