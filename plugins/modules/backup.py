#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: backup
short_description: Take a verified backup of a database before it is migrated
version_added: "0.1.0"
description:
  - Dumps O(database) with the server's own dump tool (C(mariadb-dump), else C(mysqldump)) using
    C(--single-transaction --routines --triggers --events --hex-blob), compresses the stream with gzip and writes
    C(<database>-<label>.sql.gz) and C(<database>-<label>.manifest.json) into O(backup_dir), both mode 0600.
  - The manifest records the server and dump tool versions, start and end times (UTC), the rows of the
    C(migrations) and C(schemagate_migrations) tables, the exact row count and C(CHECKSUM TABLE) value of every
    table, the schema fingerprint (as M(schemagate.mysql.schema_fingerprint) computes it), and the file's size and sha256.
  - Row counts and checksums are read in a consistent-snapshot transaction started next to the dump's own. To make
    both snapshots see the same data, writes to the database's tables are paused (C(LOCK TABLES ... READ)) from
    just before the first snapshot until the dump has started its own, typically for tens of milliseconds; the
    pause is recorded in the manifest. With O(snapshot_lock_timeout=0) there is no pause, and a database receiving
    writes during the backup can then fail verification. That is a safe failure, since the deploy stops.
  - Before anything is written, the module checks that O(backup_dir) can be created and written, and that its
    filesystem has at least O(min_free_ratio) times the database's data and index size free.
  - With O(verify=true) (the default), the dump is restored while it is written, and the restored database's
    row counts, checksums and schema fingerprint are compared with the manifest once the dump has ended and the
    file's sha256 has been read back from disk. The restore reads the dump's own output as it streams into the
    file (through a bounded buffer), so backup and verification take about the longer of the two, not their sum.
    Only then is the manifest marked C(verified). A mismatch fails the task and lists every difference. The
    backup is then kept, unverified, for inspection.
  - The restore goes to O(verify_target), the rehearsal server, into a database bearing production's own name
    (so the deploy can rehearse its migrations there on production's rows, see O(keep_restored)); then production's
    server sees nothing but the dump's reads. Without O(verify_target) it goes to a scratch database on
    production's own server (O(scratch_database)), which writes the whole database to production's binary log.
  - The restored database carries schemagate's marker (run C(verify_<label>)) and is dropped afterwards, unless
    O(keep_restored=true) and it was verified. On any failure it is dropped.
  - After a verified backup, the O(keep) newest verified backups of O(database) in O(backup_dir) are kept and older
    verified ones are deleted. Unverified backups are never deleted, only reported.
  - The credentials reach the dump tool through an anonymous in-memory 0600 option file (C(memfd_create)) that it
    inherits as a descriptor (C(/dev/fd/N)); it is never on disk and is gone with the process, even after a kill.
    Where memfd_create is missing (not Linux), a 0600 file in a private temporary directory is used and removed.
    The password never appears on a command line.
requirements:
  - On the host that executes the module, the server's dump tool (C(mariadb-dump) or C(mysqldump))
  - Optionally, the Python package C(isal) on that host, for faster gzip (see O(compress_level))
author: schemagate contributors (@schemagate)
extends_documentation_fragment:
  - schemagate.mysql.attributes
  - schemagate.mysql.connection
  - schemagate.mysql.target.verify_target
options:
  database:
    description: The database to back up.
    type: str
    required: true
    aliases: [ db ]
  backup_dir:
    description:
      - Directory for the backup files, on the host that runs the module. Created (mode 0700) if missing.
    type: path
    required: true
  label:
    description:
      - Names this backup's files (C(<database>-<label>.sql.gz)). Letters, digits and C(_), at most 40.
      - Defaults to the current UTC time, for example C(20261124T130500Z).
    type: str
  keep:
    description: Number of verified backups of O(database) to keep in O(backup_dir); older verified ones are deleted.
    type: int
    default: 5
  verify:
    description: Restore the backup into a scratch database and compare it with the manifest before marking it verified.
    type: bool
    default: true
  scratch_database:
    description:
      - Database the verification restore goes to; must not exist. On production's server it must differ from O(database).
      - Defaults to O(database) on O(verify_target), else to C(<database>_sg_verify_<label>), where the deploy account has rights.
    type: str
  keep_restored:
    description:
      - Leave the verified restored database in place (with its marker) and return it in RV(restored), for the deploy
        to rehearse its pending migrations on production's own rows. Dropped anyway when verification fails.
    type: bool
    default: false
  min_free_ratio:
    description:
      - Refuse to start unless the free space of O(backup_dir)'s filesystem is at least this multiple of the
        database's data and index size (the compressed dump is usually far smaller).
    type: float
    default: 1.0
  snapshot_lock_timeout:
    description:
      - Seconds to keep trying the brief write pause that aligns the manifest's snapshot with the dump's. Each
        attempt waits at most 1 s for the tables' metadata locks (no write queues behind it longer), then gives up
        and is retried 1 s later; every retry is recorded in the manifest (C(consistency.lock_waits)) with the
        blocking session. The task fails in one line naming the blocker if a transaction holds the tables longer
        than this. V(0) takes no lock (see the description).
    type: int
    default: 5
  migrations_table:
    description:
      - Name of the table that records applied migrations (the migrate module's O(migrations_table)). Its rows, and
        those of the migration tools' own tables, are kept in the manifest.
    type: str
    default: migrations
  compress_level:
    description:
      - gzip level of the dump file. V(1) (the default) is the fastest level that compresses, about 3x on a dump.
        V(0) writes a valid gzip file without compressing, and takes about 3x the disk.
      - Levels V(1) to V(3) use ISA-L when the Python package C(isal) is installed on the host that runs the module
        (about 4x faster than zlib at level 1; the file is plain gzip either way). Without it, and for levels V(4)
        to V(9), Python's zlib compresses. The manifest records which (C(compressor)).
    type: int
    default: 1
  restore_workers:
    description: Connections that load rows in parallel during the verification restore.
    type: int
    default: 2
  remove_debris:
    description:
      - Every backup first looks for what earlier, interrupted runs of O(database) left behind and lists it in
        RV(debris) - scratch databases C(<database>_sg_*) carrying schemagate's marker, C(.partial) dump files
        and unverified backups in O(backup_dir), and the backup's private temporary directories - when older than
        O(debris_min_age). With V(true) it also removes them (databases only through their marker).
    type: bool
    default: false
  debris_min_age:
    description: Seconds a leftover must be old to count as debris (younger ones may belong to a run in progress).
    type: int
    default: 3600
  old_keep:
    description:
      - Retention of C(<database>_sg_old_<run_id>), the tables an emergency restore replaced. After a verified backup
        the O(old_keep) newest are always kept; older ones are dropped once O(old_min_age_days) old. Only databases
        carrying the restore's marker are dropped; others are listed in RV(old_databases), never touched.
    type: int
    default: 2
  old_min_age_days:
    description: Days a C(<database>_sg_old_*) database beyond the O(old_keep) newest must be old before it is dropped.
    type: float
    default: 7
attributes:
  check_mode:
    support: full
    details: Runs the free-space and directory checks and reports the files it would write; dumps nothing.
  diff_mode:
    support: none
notes:
  - Needs C(mariadb-dump) or C(mysqldump) on the host that runs the module, and the privileges a dump needs on
    O(database) (C(SELECT), C(SHOW VIEW), C(TRIGGER), C(EVENT), C(LOCK TABLES)). Stored routines defined by
    another account also need C(SHOW CREATE ROUTINE) (MariaDB 10.11+) or C(SELECT) on C(mysql.proc).
  - The verification restore recreates views, triggers, routines and events without their C(DEFINER), so the
    restoring account becomes the definer.
  - C(CHECKSUM TABLE) values depend on the server version and storage format. They are compared only when the
    verifying server runs the version the backup was taken on; row counts and the schema fingerprint are always compared.
seealso:
  - module: schemagate.mysql.restore
'''

EXAMPLES = r'''
- name: Take and verify a backup before migrating
  schemagate.mysql.backup:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    backup_dir: /var/backups/schemagate
  register: pre_deploy_backup

- name: Keep ten backups, label them by release, and require twice the data size free
  schemagate.mysql.backup:
    login_host: db1.example.com
    login_user: deploy
    login_password: "{{ vault_deploy_password }}"
    database: askproai_db
    backup_dir: /var/backups/schemagate
    label: release_2026_11_24
    keep: 10
    min_free_ratio: 2.0

- name: Back up, verify on the rehearsal server and keep the restored copy for a rehearsal on production's rows
  schemagate.mysql.backup:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    backup_dir: /var/backups/schemagate
    verify_target:
      login_unix_socket: /tmp/sg-rehearsal-x1/mysqld.sock
      config_file: /tmp/sg-rehearsal-x1/admin.cnf
    keep_restored: true
  register: backup_result

- name: Dump only (verify later, or elsewhere)
  schemagate.mysql.backup:
    config_file: /etc/schemagate/deploy.cnf
    database: askproai_db
    backup_dir: /var/backups/schemagate
    verify: false
'''

RETURN = r'''
backup_file:
  description: Path of the compressed dump (in check mode, the path it would have).
  returned: always
  type: str
  sample: /var/backups/schemagate/askproai_db-20261124T130500Z.sql.gz
manifest_file:
  description: Path of the manifest (in check mode, the path it would have).
  returned: always
  type: str
  sample: /var/backups/schemagate/askproai_db-20261124T130500Z.manifest.json
label:
  description: The backup's label.
  returned: always
  type: str
  sample: 20261124T130500Z
manifest:
  description:
    - The manifest without the full schema structure. It includes C(sha256), C(size_bytes), C(tables) (rows and checksum
      per table), C(migrations), C(schema_fingerprint), C(total_rows), C(consistency.writes_paused_ms),
      C(verified) and C(verification).
  returned: when not in check mode
  type: dict
  sample:
    database: askproai_db
    sha256: 9f2c7d0c4f3b1e0e2a8c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809112
    size_bytes: 15018195
    total_rows: 251426
    verified: true
    verification: {restore_seconds: 2.3, compare_seconds: 0.2, mismatches: [], scratch_database: askproai_db_sg_verify_20261124T130500Z}
verified:
  description: Whether the backup restored and matched its manifest.
  returned: when not in check mode
  type: bool
restored:
  description:
    - The verification restore - the database (production's name on O(verify_target)), its marker's run id, the
      server, whether it was kept (O(keep_restored)) and the wall seconds of backup and verification together.
  returned: when not in check mode and O(verify=true)
  type: dict
  sample: {database: askproai_db, run_id: verify_20261124T130500Z, server: MariaDB 10.11.14, kept: true, seconds: 4.1}
debris:
  description: One line per leftover of earlier runs found (see O(remove_debris)); empty when there is none.
  returned: always
  type: list
  elements: str
  sample: ["scratch database askproai_db_sg_verify_20261124T130500Z (run verify_20261124T130500Z, 7260 s old)"]
debris_removed:
  description: One line per leftover removed (only with O(remove_debris=true)).
  returned: always
  type: list
  elements: str
old_databases:
  description: C(<database>_sg_old_*) databases kept, removed and unmarked (never removed) by the retention of O(old_keep).
  returned: when not in check mode and O(verify=true)
  type: dict
  sample: {kept: [askproai_db_sg_old_r2, askproai_db_sg_old_r1], removed: [], unmarked: []}
retention:
  description: Manifests of O(database) kept, deleted and unverified (never deleted) in O(backup_dir).
  returned: when not in check mode and O(verify=true)
  type: dict
  sample: {kept: [/var/backups/schemagate/askproai_db-20261124T130500Z.manifest.json], deleted: [], unverified: []}
plan:
  description:
    - What the checks found, in bytes (C(estimate_bytes), C(free_bytes), C(required_bytes)), the dump tool, and
      whether the directory would be created.
  returned: always
  type: dict
mismatches:
  description: Every difference between the restored backup and its manifest.
  returned: when verification fails
  type: list
  elements: str
server:
  description: Flavour and version of the server.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.schemagate.mysql.plugins.module_utils.backup.backup import (
    plan_backup, take_backup, take_verified_backup, verify_server)
from ansible_collections.schemagate.mysql.plugins.module_utils.backup.cleanup import describe_debris, find_debris, prune_old_databases, remove_debris
from ansible_collections.schemagate.mysql.plugins.module_utils.backup.backup_files import default_label, prune_backups, summary, validate_label
from ansible_collections.schemagate.mysql.plugins.module_utils.core.scratch import check_scratch_target
from ansible_collections.schemagate.mysql.plugins.module_utils.core.connection import ConnectionParams
from ansible_collections.schemagate.mysql.plugins.module_utils.core.module_glue import (
    argument_spec, connection, run, server_facts, target_argument_spec, target_connection, target_params)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            database=dict(type='str', required=True, aliases=['db']),
            backup_dir=dict(type='path', required=True),
            label=dict(type='str'),
            keep=dict(type='int', default=5),
            verify=dict(type='bool', default=True),
            scratch_database=dict(type='str'),
            verify_target=target_argument_spec(),
            keep_restored=dict(type='bool', default=False),
            min_free_ratio=dict(type='float', default=1.0),
            snapshot_lock_timeout=dict(type='int', default=5),
            migrations_table=dict(type='str', default='migrations'),
            compress_level=dict(type='int', default=1),
            restore_workers=dict(type='int', default=2),
            remove_debris=dict(type='bool', default=False),
            debris_min_age=dict(type='int', default=3600),
            old_keep=dict(type='int', default=2),
            old_min_age_days=dict(type='float', default=7),
        ),
        supports_check_mode=True,
    )
    run(module, missing_required_lib('PyMySQL'), lambda: backup(module))


def backup(module):
    params = module.params
    database = params['database']
    label = validate_label(params['label'] or default_label())
    if params['scratch_database']:
        check_scratch_target(database, params['scratch_database'], other_server=bool(params['verify_target']))
    with connection(module) as (conn, server):
        checked = plan_backup(conn, server, database, params['backup_dir'], label, params['min_free_ratio'], create=not module.check_mode)
        result = dict(
            changed=True,
            label=label,
            backup_file=checked['dump_file'],
            manifest_file=checked['manifest_file'],
            plan=checked,
            server=server_facts(server),
        )
        debris = find_debris(conn, database, params['backup_dir'], params['debris_min_age'])
        result.update(debris=describe_debris(debris), debris_removed=[])
        if params['remove_debris'] and not module.check_mode:
            result['debris_removed'] = remove_debris(conn, database, debris)
        production = ConnectionParams.from_module_params(params)
        options = dict(min_free_ratio=params['min_free_ratio'], snapshot_lock_timeout=params['snapshot_lock_timeout'],
                       compress_level=params['compress_level'], migrations_table=params['migrations_table'])
        if not params['verify']:
            if module.check_mode:
                return result
            taken = take_backup(production, conn, server, database, params['backup_dir'], label, **options)
            result.update(manifest=summary(taken['manifest']), verified=False)
            return result
        if not params['verify_target']:
            return verified(module, result, conn, server, None, production, label, options)
        with target_connection(module, 'verify_target') as (target, target_server):
            on = verify_server(conn, target_params(module, 'verify_target'), target, target_server)
            return verified(module, result, conn, server, on, production, label, options)


def verified(module, result, conn, server, on, production, label, options):  # pylint: disable=too-many-positional-arguments
    """The backup, verified by a restore on ``on`` (None: a scratch database on production's server)."""
    params = module.params
    if module.check_mode:
        return result
    taken = take_verified_backup(
        production, conn, server, params['database'], params['backup_dir'], label, verify_on=on,
        keep_restored=params['keep_restored'], scratch_database=params['scratch_database'],
        workers=params['restore_workers'], **options)
    result['retention'] = prune_backups(params['backup_dir'], params['database'], params['keep'], protect=[taken['manifest_file']])
    result['old_databases'] = prune_old_databases(conn, params['database'], params['old_keep'], params['old_min_age_days'])
    result.update(manifest=summary(taken['manifest']), verified=taken['manifest'].verified, restored=taken['restored'])
    return result


if __name__ == '__main__':
    main()
