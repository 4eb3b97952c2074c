#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: restore
short_description: Restore a verified backup into production, keeping the tables it replaces
version_added: "0.1.0"
description:
  - The emergency rollback. It restores a backup made by M(schemagate.mysql.backup) and swaps it into O(database).
    Nothing in production is dropped; the previous tables are moved aside.
  - Refuses a backup whose manifest is not C(verified), a backup of another database, and a dump file whose sha256
    differs from the manifest's.
  - Restores the dump into the scratch database C(<database>_sg_restore_<run_id>), which carries schemagate's
    marker, and verifies it against the manifest (row counts, checksums, schema fingerprint). Production is not
    touched until this passes.
  - Then one atomic C(RENAME TABLE) moves every production table to C(<database>_sg_old_<run_id>) and every
    restored table into O(database). Tables that only production has move to the old database too, so the data no
    backup holds stays available there. The old database is never dropped by schemagate.
  - The deploy lock table (C(schemagate_deploy_lock)) is not swapped. It holds the running deploy's lock, not
    data of the backup.
  - Triggers cannot move between databases with their tables. So before the swap the triggers of production
    and of the restored tables are dropped (production's definitions are kept). After the swap, the dump's
    triggers, views, stored routines and events are recreated in production from the dump. This runs with the
    dump's session settings, as DROP ... IF EXISTS followed by CREATE, without DEFINER. Views, routines and
    events that production had and the backup has not are dropped, and their CREATE statements are returned in
    RV(removed_objects). Production's previous triggers are recreated on the moved tables in the old database.
  - Finally production is compared with the manifest again.
  - Run it with the application stopped. Between the trigger drop and their re-creation, production has no
    triggers, and writes during the restore make the final comparison fail.
requirements:
  - Optionally, the Python package C(isal) on the host that executes the module, for faster reading of the gzip dump
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
options:
  database:
    description: The production database to restore.
    type: str
    required: true
    aliases: [ db ]
  backup_dir:
    description: Directory holding the backups (the files M(schemagate.mysql.backup) wrote).
    type: path
    required: true
  manifest:
    description:
      - Manifest of the backup to restore. Defaults to the newest verified backup of O(database) in O(backup_dir).
    type: path
  run_id:
    description:
      - Names the scratch and old databases (C(<database>_sg_restore_<run_id>), C(<database>_sg_old_<run_id>)).
        Letters, digits and C(_). Defaults to the current UTC time.
    type: str
  restore_workers:
    description: Connections that load rows in parallel.
    type: int
    default: 2
attributes:
  check_mode:
    support: full
    details: Checks the manifest (verified, same database, sha256) and reports what the swap would move; writes nothing.
  diff_mode:
    support: none
notes:
  - Needs all privileges on C(<database>_sg_%) and, on O(database), the privileges the deploy account has
    (C(CREATE), C(DROP), C(ALTER), C(INSERT), C(TRIGGER), C(CREATE VIEW), C(CREATE ROUTINE), C(EVENT)).
  - The swap's statements (C(DROP TRIGGER), C(RENAME TABLE), the recreated objects) wait at most 1 s per attempt for
    the metadata locks of the application's sessions, so no write queues behind them longer than that; attempts are
    retried 1 s apart for up to 30 seconds, and each retry is returned in RV(lock_waits) with the blocking session
    (connection id, user, transaction age, statement). Then the restore fails in one line naming the blocker, and
    production is left unchanged.
seealso:
  - module: schemagate.mysql.backup
'''

EXAMPLES = r'''
- name: Roll production back to the newest verified backup
  schemagate.mysql.restore:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    backup_dir: /var/backups/schemagate
  register: emergency_restore

- name: Restore one named backup
  schemagate.mysql.restore:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    backup_dir: /var/backups/schemagate
    manifest: /var/backups/schemagate/askproai_db-20261124T130500Z.manifest.json
    run_id: incident_4711

- name: Show where the replaced tables went
  ansible.builtin.debug:
    msg: "Previous tables kept in {{ emergency_restore.old_database }}"
'''

RETURN = r'''
manifest_file:
  description: The manifest of the backup restored (or that would be).
  returned: always
  type: str
old_database:
  description: Database holding the tables production had before the restore.
  returned: always
  type: str
  sample: askproai_db_sg_old_20261124T140000Z
scratch_database:
  description: The scratch database the backup was restored and verified in (dropped afterwards).
  returned: always
  type: str
restored:
  description: One line saying what was restored, how many tables were swapped in and where the previous ones are.
  returned: when not in check mode
  type: str
  sample: "backups/askproai_db-20261124T140000Z.manifest.json (14 tables swapped in; production's previous tables kept in askproai_db_sg_old_1)"
swapped_tables:
  description: Tables restored into production.
  returned: when not in check mode
  type: list
  elements: str
moved_to_old:
  description: Production's previous tables, now in RV(old_database).
  returned: when not in check mode
  type: list
  elements: str
only_in_production:
  description: Tables production had that the backup has not; they moved to RV(old_database) and are not replaced.
  returned: always
  type: list
  elements: str
recreated_objects:
  description: Views, triggers, routines and events recreated in production from the dump.
  returned: when not in check mode
  type: list
  elements: str
removed_objects:
  description: Views, routines and events production had and the backup has not (dropped), with their CREATE statements.
  returned: when not in check mode
  type: dict
previous_triggers:
  description: CREATE statements of production's triggers before the restore.
  returned: when not in check mode
  type: dict
previous_triggers_on_old_tables:
  description: Those of the previous triggers recreated on the tables in RV(old_database).
  returned: when not in check mode
  type: list
  elements: str
lock_waits:
  description:
    - Every swap statement that had to retry for its metadata locks, with its attempts, seconds and blocking sessions
      (C(id), C(user), C(transaction_seconds), C(statement)). Empty when nothing blocked.
  returned: when not in check mode
  type: list
  elements: dict
restore_seconds:
  description: Time to load the dump into the scratch database.
  returned: when not in check mode
  type: float
seconds:
  description: Duration of the whole restore.
  returned: when not in check mode
  type: float
differences:
  description: Differences between production and the backup found after the swap.
  returned: when the final comparison fails
  type: list
  elements: str
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.backup.backup_files import default_label, latest_verified_manifest
from ansible_collections.schemagate.mysql.plugins.module_utils.backup.restore import restore_backup, restore_plan
from ansible_collections.schemagate.mysql.plugins.module_utils.core.connection import ConnectionParams, validate_identifier
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import argument_spec, connection, run, server_facts


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            backup_dir=dict(type='path', required=True),
            manifest=dict(type='path'),
            run_id=dict(type='str'),
            restore_workers=dict(type='int', default=2),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: restore(module))


def restore(module):
    params = module.params
    database = validate_identifier(params['database'], 'database name')
    run_id = validate_identifier(params['run_id'] or default_label(), 'run_id')
    manifest = params['manifest'] or latest_verified_manifest(params['backup_dir'], database)
    with connection(module) as (conn, server):
        plan = restore_plan(conn, manifest, database, run_id)
        result = dict(
            changed=True,
            manifest_file=manifest,
            old_database=plan['old_database'],
            scratch_database=plan['scratch_database'],
            only_in_production=plan['only_in_production'],
            server=server_facts(server),
        )
        if module.check_mode:
            result.update(would_move_to_old=plan['production_tables'], would_restore=plan['backup_tables'])
            return result
        result.update(restore_backup(ConnectionParams.from_module_params(params), conn, server, manifest, database, run_id, params['restore_workers']))
        return result


if __name__ == '__main__':
    main()
