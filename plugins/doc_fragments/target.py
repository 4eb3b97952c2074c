# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Literal strings only (ansible-test's yamllint reads them as such), so the suboptions appear twice.
    # The second connection of the modules that work on two servers (production, only read, and the rehearsal server).
    DOCUMENTATION = r'''
options:
  target:
    description:
      - The rehearsal server (an embedded instance or a staging server), with the same option names as the
        connection to production.
      - A target naming no server (no O(target.login_host), O(target.login_port), O(target.login_unix_socket)
        or O(target.config_file)) is the module's own connection with the target's other options over it,
        for example only O(target.sql_log_bin=false).
    type: dict
    suboptions:
      login_host:
        description:
          - Host running the database server.
          - When neither O(login_host) nor O(login_unix_socket) is set, the host from O(config_file) is used,
            and failing that C(localhost).
        type: str
      login_user:
        description:
          - Database user to connect as.
        type: str
      login_password:
        description:
          - Password of O(login_user). Keep it in Ansible Vault.
          - It is passed to the driver in memory only, never on a command line or in a log.
        type: str
      login_port:
        description:
          - TCP port of the server. Defaults to the port in O(config_file), else C(3306).
        type: int
      login_unix_socket:
        description:
          - Path of the server's Unix socket; takes precedence over O(login_host).
        type: str
      config_file:
        description:
          - A MySQL option file whose C([client]) section supplies any of user, password, host, port and socket.
          - Explicit O(login_user), O(login_password), O(login_host), O(login_port) and O(login_unix_socket) win over it.
        type: path
      ca_cert:
        description:
          - CA certificate to verify the server with; enables TLS.
        type: path
        aliases: [ ssl_ca ]
      client_cert:
        description:
          - Client certificate for TLS client authentication.
        type: path
        aliases: [ ssl_cert ]
      client_key:
        description:
          - Private key of O(client_cert).
        type: path
        aliases: [ ssl_key ]
      check_hostname:
        description:
          - Whether to check that the server certificate matches O(login_host). Only used with TLS options.
        type: bool
      connect_timeout:
        description:
          - Seconds to wait when connecting.
        type: int
        default: 30
      sql_log_bin:
        description:
          - With V(false), every session runs C(SET SESSION sql_log_bin = 0), so nothing it writes reaches the binary
            log or the replicas (what the gate does when it rehearses on production's own server). The account
            needs SUPER (on MariaDB, BINLOG ADMIN); without it the module fails with one line and changes nothing.
          - Unset, the server's setting applies.
        type: bool
'''

    # The backup's verification restore on the rehearsal server (schemagate.mysql.backup).
    VERIFY_TARGET = r'''
options:
  verify_target:
    description:
      - The server the verification restore runs on (the rehearsal server), with the same option names as the
        connection to production. Refused when it reaches production's own server.
      - Omitted, the restore runs on production's own server, in a scratch database.
    type: dict
    suboptions:
      login_host:
        description:
          - Host running the database server.
          - When neither O(login_host) nor O(login_unix_socket) is set, the host from O(config_file) is used,
            and failing that C(localhost).
        type: str
      login_user:
        description:
          - Database user to connect as.
        type: str
      login_password:
        description:
          - Password of O(login_user). Keep it in Ansible Vault.
          - It is passed to the driver in memory only, never on a command line or in a log.
        type: str
      login_port:
        description:
          - TCP port of the server. Defaults to the port in O(config_file), else C(3306).
        type: int
      login_unix_socket:
        description:
          - Path of the server's Unix socket; takes precedence over O(login_host).
        type: str
      config_file:
        description:
          - A MySQL option file whose C([client]) section supplies any of user, password, host, port and socket.
          - Explicit O(login_user), O(login_password), O(login_host), O(login_port) and O(login_unix_socket) win over it.
        type: path
      ca_cert:
        description:
          - CA certificate to verify the server with; enables TLS.
        type: path
        aliases: [ ssl_ca ]
      client_cert:
        description:
          - Client certificate for TLS client authentication.
        type: path
        aliases: [ ssl_cert ]
      client_key:
        description:
          - Private key of O(client_cert).
        type: path
        aliases: [ ssl_key ]
      check_hostname:
        description:
          - Whether to check that the server certificate matches O(login_host). Only used with TLS options.
        type: bool
      connect_timeout:
        description:
          - Seconds to wait when connecting.
        type: int
        default: 30
      sql_log_bin:
        description:
          - With V(false), every session runs C(SET SESSION sql_log_bin = 0), so nothing it writes reaches the binary
            log or the replicas (what the gate does when it rehearses on production's own server). The account
            needs SUPER (on MariaDB, BINLOG ADMIN); without it the module fails with one line and changes nothing.
          - Unset, the server's setting applies.
        type: bool
'''
