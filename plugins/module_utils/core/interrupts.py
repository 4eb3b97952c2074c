"""Interrupts: SIGINT, SIGTERM, SIGHUP and a lost controller, turned into one stop request.

What ansible-playbook does to a running module (ansible-core 2.19, local connection): the controller's
TaskQueueManager forwards SIGINT/SIGTERM to each worker; the worker (a session leader, see
WorkerProcess._detach) sends it to its whole process group, which holds the module, and exits at once.
The module is orphaned and its result is never read. On kill -9 of the controller nothing is forwarded
at all and the module runs on, unobserved. So work that must not be orphaned watches for all of these
itself, here, and stops between statements (a statement in flight is stopped with KILL QUERY from a
second connection), then undoes what it did.

With the collection's ``schemagate.mysql.interrupts`` callback enabled, the controller does not forward
the first signal: it writes a stop request into ``SCHEMAGATE_STOP_FILE`` instead and keeps the play
running, so the module stops and fails cleanly and the play's rescue and always sections run (report,
lock release). ``SCHEMAGATE_CONTROLLER_PID`` names the controller whose disappearance means the
controller was lost.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Any, Callable, List, Optional

STOP_FILE_ENV = "SCHEMAGATE_STOP_FILE"
CONTROLLER_PID_ENV = "SCHEMAGATE_CONTROLLER_PID"
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_POLL_SECONDS = 0.1


_CONTROLLERS = ("ansible-playbook", "ansible", "ansible-console")


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _runs_ansible(cmdline: str) -> bool:
    """Whether a command line runs an Ansible controller (the program or its first argument), not just a path
    containing 'ansible' (a module under ~/.ansible/tmp)."""
    argv = [arg for arg in cmdline.split("\0") if arg]
    return any(os.path.basename(arg) in _CONTROLLERS for arg in argv[:2])


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def controller_pid() -> Optional[int]:
    """The ansible-playbook (or ansible) controller this process runs under, if it can be found.

    ``SCHEMAGATE_CONTROLLER_PID`` when the callback set it; otherwise the topmost ancestor that
    runs the same command as the nearest ancestor running ansible (the worker is a fork of it).
    """
    named = os.environ.get(CONTROLLER_PID_ENV, "")
    if named.isdigit() and alive(int(named)):
        return int(named)
    pid, found, command = os.getppid(), None, None
    for _level in range(8):
        if pid <= 1:
            break
        line = _cmdline(pid)
        if command is None and _runs_ansible(line):
            command = line
        if command is not None:
            if line != command:
                break
            found = pid
        pid = _parent(pid)
    return found


def alive(pid: Optional[int]) -> bool:
    if not pid:
        return True  # nothing to watch
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone too
    except (OSError, IndexError):
        return True


def stop_requested_by_controller() -> Optional[str]:
    """The reason the controller wrote into its stop file (the callback), or None."""
    path = os.environ.get(STOP_FILE_ENV, "")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or "SIGINT"
    except OSError:
        return None


class Interrupted(Exception):
    """Raised by StopWatch.check() once a stop was requested (not a SchemagateError: callers decide)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StopWatch:
    """Watches for a stop request while a block of work runs; ``check()`` raises Interrupted once one came.

    ``on_stop`` is called once, from the watcher thread, when the request arrives (to KILL QUERY a
    statement in flight). Signal handlers are installed by ``start()`` and put back by ``stop()``.
    """

    def __init__(self, on_stop: Optional[Callable[[str], None]] = None, controller: Optional[int] = None) -> None:
        self.on_stop = on_stop
        self.controller = controller if controller is not None else controller_pid()
        self.reason: Optional[str] = None
        self._event = threading.Event()
        self._done = threading.Event()
        self._previous: List[Any] = []
        self._thread: Optional[threading.Thread] = None
        self._parent = os.getppid()
        self.ignoring = False  # while undoing: requests are recorded, nothing more is stopped

    def start(self) -> "StopWatch":
        for signum in _SIGNALS:
            self._previous.append((signum, signal.signal(signum, self._on_signal)))
        self._thread = threading.Thread(target=self._watch, name="schemagate-stopwatch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(2)
        for signum, handler in self._previous:
            signal.signal(signum, handler)
        self._previous = []

    def __enter__(self) -> "StopWatch":
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._request(signal.Signals(signum).name)

    def _request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            self._event.set()

    def poll(self) -> Optional[str]:
        """Look once for a stop request that is not a signal (stop file, lost controller)."""
        if self.reason is None:
            by_controller = stop_requested_by_controller()
            if by_controller:
                self._request(by_controller)
            elif not alive(self.controller) or (self._parent > 1 and os.getppid() != self._parent and not alive(self._parent)):
                self._request("lost controller")
        return self.reason

    def _watch(self) -> None:
        while not self._done.is_set():
            if self.poll() is not None:
                break
            self._event.wait(_POLL_SECONDS)
        if self.reason is not None and self.on_stop is not None and not self._done.is_set() and not self.ignoring:
            self.on_stop(self.reason)

    def check(self) -> None:
        if not self.ignoring and self.poll() is not None:
            raise Interrupted(self.reason or "interrupt")
