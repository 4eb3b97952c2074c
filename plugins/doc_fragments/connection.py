# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every schemagate module, named as ansible.mysql names them.
    DOCUMENTATION = r'''
options:
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
      - A MySQL option file whose C([client]), C([client-server]), C([client-mariadb]) or C([schemagate]) groups supply
        any of user, password, host, port, socket, ssl-ca, ssl-capath, ssl-cert and ssl-key.
      - Read as the MySQL manual specifies (quotes, escapes, comments, C(!include), C(!includedir)); the password may
        hold any Unicode character (it is sent as UTF-8, as the client tools send it). A world-writable file is refused.
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
requirements:
  - PyMySQL >= 1.0 on the host that executes the module
notes:
  - Works with MariaDB 10.5+ and MySQL 8.0+; the server flavour and version are detected on connect.
'''
