# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # How a module finds and reads a migration set, and whose bookkeeping table records it.
    DOCUMENTATION = r'''
options:
  migrations_dir:
    description:
      - Directory of migration files on the host that executes the module.
      - Only C(.sql) files are read; a file that links out of the directory is refused, never followed.
      - Required with O(source=sql); ignored with O(source=laravel).
    type: path
  source:
    description:
      - Where the migrations come from and what runs them.
      - V(sql) reads SQL files in O(migrations_dir) (in O(format)) and runs their statements itself.
      - V(laravel) reads a Laravel application's own PHP migrations (C(database/migrations/*.php) of O(laravel_app))
        and drives C(php artisan migrate --force), C(migrate:rollback --step=1 --force) and C(migrate --pretend) (check
        mode) against the database this module connects to; history is Laravel's C(migrations) table.
      - With V(laravel) the connection reaches artisan in the environment of the C(php) process only (C(DB_HOST),
        C(DB_PORT), C(DB_SOCKET), C(DB_DATABASE), C(DB_USERNAME), C(DB_PASSWORD)), never argv or the app's C(.env).
    type: str
    choices: [ sql, laravel ]
    default: sql
  laravel_app:
    description:
      - With O(source=laravel), the application root (where C(artisan) lives), on the host that executes the module.
      - Its C(config/database.php) must read the connection from the C(DB_*) environment variables, and its config must
        not be cached (C(bootstrap/cache/config.php)).
    type: path
  format:
    description:
      - How the migration files are written.
      - V(auto) detects it from the file names (and the goose or dbmate section markers);
        Laravel-style pairs win when present.
      - V(laravel) is schemagate's own format, C(YYYY_MM_DD_HHMMSS_name.up.sql) with an optional C(.down.sql).
      - V(golang-migrate) reads C(<version>_<name>.up.sql) and C(.down.sql), versions ordered as numbers.
      - V(goose) reads one C(<version>_<name>.sql) per change with C(-- +goose Up), C(-- +goose Down),
        C(-- +goose StatementBegin) and C(-- +goose StatementEnd) annotations.
      - V(dbmate) reads one C(<version>_<name>.sql) per change with C(-- migrate:up) and C(-- migrate:down) sections.
      - V(flyway) reads C(V<version>__<description>.sql) (dotted versions compared as integers), optional
        C(U<version>__<description>.sql) undo scripts and repeatable C(R__<description>.sql) scripts, in sub-directories too.
      - A migration without a down is irreversible; rolling it back fails with "no down, only a restore undoes it".
    type: str
    choices: [ auto, laravel, golang-migrate, goose, dbmate, flyway ]
    default: auto
  history:
    description:
      - Whose bookkeeping table records applied migrations, read and written with that tool's own columns and
        semantics so the tool and schemagate agree. V(auto) uses the tool of O(format).
      - V(laravel) C(migrations(id, migration, batch)); V(golang-migrate) C(schema_migrations(version, dirty)),
        where a dirty row blocks; V(goose) C(goose_db_version); V(dbmate) C(schema_migrations(version));
        V(flyway) C(flyway_schema_history) with Flyway's own checksum, where a failed row blocks.
    type: str
    choices: [ auto, laravel, golang-migrate, goose, dbmate, flyway ]
    default: auto
  migrations_table:
    description:
      - Name of the tool's bookkeeping table, when it is not the tool's default (C(migrations),
        C(schema_migrations), C(goose_db_version) or C(flyway_schema_history)).
      - schemagate keeps its own journal (checksums, the migration in flight) beside it in C(schemagate_<migrations_table>).
      - An existing table of that name without the tool's columns (an application table) is refused.
    type: str
  sql_mode:
    description:
      - Session C(sql_mode) for the migration statements, for example a MySQL 8 set run on MariaDB.
      - V(mysql8) stands for MySQL 8's default modes. Unset keeps the server's.
    type: str
'''
