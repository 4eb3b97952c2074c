"""The server's own dump tool (``mariadb-dump`` or ``mysqldump``) and the credentials it is given.

Credentials never reach argv, nor the disk: the tool reads them from an anonymous in-memory file
(``memfd_create``, mode 0600) that it inherits as a descriptor and opens as ``/dev/fd/N``. The file has
no name in any directory and is gone with the last process holding it, so even SIGKILL leaves nothing.
Where there is no memfd_create (not Linux) a 0600 file in a private 0700 directory is used instead,
removed by the caller.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, Dict, List, Optional, Tuple

from ..core.connection import ConnectionParams, file_options, validate_identifier
from ..core.option_file import quote_value
from ..core.dialect import ServerInfo
from ..core.errors import SchemagateError


DUMP_OPTIONS = (
    "--single-transaction",
    "--routines",
    "--triggers",
    "--events",
    "--hex-blob",
    "--default-character-set=utf8mb4",
    "--skip-lock-tables",
)


def find_dump_tool(server: ServerInfo) -> str:
    for name in server.dump_tools:
        found = shutil.which(name)
        if found:
            return found
    raise SchemagateError(
        f"No dump tool found ({' or '.join(server.dump_tools)}) on the host that runs the backup: "
        f"install the {'MariaDB' if server.is_mariadb else 'MySQL'} client programs."
    )


def tool_version(tool: str) -> str:
    try:
        done = subprocess.run([tool, "--version"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SchemagateError(f"Cannot run {tool} --version: {exc}.") from None
    return " ".join((done.stdout or done.stderr).split())


def client_options(params: ConnectionParams, server: ServerInfo) -> List[str]:
    """[client] lines that reach the server and account PyMySQL reaches with ``params``."""
    merged: Dict[str, Any] = {}
    if params.config_file:
        merged = {("socket" if key == "unix_socket" else key): value for key, value in file_options(params.config_file).items()}
    explicit = {
        "user": params.user,
        "password": params.password,
        "host": params.host,
        "port": params.port,
        "socket": params.unix_socket,
        "ssl-ca": params.ca_cert,
        "ssl-cert": params.client_cert,
        "ssl-key": params.client_key,
    }
    merged.update({key: value for key, value in explicit.items() if value not in (None, "")})
    lines = ["[client]"]
    for key in ("user", "password", "ssl-ca", "ssl-capath", "ssl-cert", "ssl-key", "ssl-cipher"):
        if merged.get(key) not in (None, ""):
            lines.append(f"{key}={quote_value(merged[key])}")
    if merged.get("socket"):
        # PyMySQL uses the socket whenever one is given; the client tools would prefer a host.
        lines += [f"socket={quote_value(merged['socket'])}", "protocol=SOCKET"]
    else:
        # PyMySQL always uses TCP without a socket; for "localhost" the client tools would use their default socket.
        lines += [f"host={quote_value(merged.get('host') or 'localhost')}", "protocol=TCP"]
        if merged.get("port"):
            lines.append(f"port={int(merged['port'])}")
    lines += list(server.client_tls_options(bool(merged.get("ssl-ca") or merged.get("ssl-capath")), params.check_hostname))
    return lines


def write_client_option_file(params: ConnectionParams, server: ServerInfo, directory: str) -> str:
    """A 0600 option file holding the credentials, so they never go on a command line."""
    path = os.path.join(directory, "client.cnf")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(client_options(params, server)) + "\n")
    return path


class ClientOptions:
    """The dump tool's option file: an inherited in-memory descriptor, else a 0600 file in ``directory``.

    ``path`` is what the tool is given (``/dev/fd/N`` or the file), ``pass_fds`` what it must inherit.
    Close it (or use it as a context manager) once the tool has exited.
    """

    def __init__(self, params: ConnectionParams, server: ServerInfo, directory: str) -> None:
        text = ("\n".join(client_options(params, server)) + "\n").encode("utf-8")
        self.fd: Optional[int] = None
        memfd_create = getattr(os, "memfd_create", None)
        if memfd_create is not None:
            fd = memfd_create("schemagate-client-cnf")  # close-on-exec: only the tool inherits it, via pass_fds
            try:
                os.fchmod(fd, 0o600)  # memfds start 0777; the client library ignores a world-writable option file
                _write_all(fd, text)
            except OSError:
                os.close(fd)
                raise
            self.fd = fd
            self.path = f"/dev/fd/{fd}"
        else:
            self.path = write_client_option_file(params, server, directory)

    @property
    def pass_fds(self) -> Tuple[int, ...]:
        return () if self.fd is None else (self.fd,)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "ClientOptions":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def client_environment(private_dir: str) -> Dict[str, str]:
    """The environment for client programs: no MYSQL_PWD/MYSQL_HOST & co. overriding the option file.

    MySQL's tools also read ~/.mylogin.cnf even with --defaults-file; point them at a file that does not exist.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MYSQL_", "MARIADB_"))}
    env["MYSQL_TEST_LOGIN_FILE"] = os.path.join(private_dir, "no-login-path")
    return env


def dump_command(tool: str, option_file: str, server: ServerInfo, database: str) -> List[str]:
    """argv of the dump: the option file first (the tools require it), the database last, no secret anywhere.

    --defaults-file, not --defaults-extra-file: with the extra file, ~/.my.cnf would still be read
    after ours and could silently switch the account or the host.
    """
    validate_identifier(database, "database name")
    return [tool, f"--defaults-file={option_file}", *DUMP_OPTIONS, *server.dump_flavor_options, database]
