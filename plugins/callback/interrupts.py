# -*- coding: utf-8 -*-
# Copyright: schemagate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: interrupts
type: aggregate
short_description: Turn the first SIGINT, SIGTERM or SIGHUP into a stop request, so the play can undo and report
version_added: "0.3.0"
description:
  - Without it, ansible-playbook forwards SIGINT/SIGTERM to its workers, which pass it to the running module and
    exit at once; the controller then stops (SIGTERM exits 143 with no message), and no rescue or always section
    runs, so an interrupted deploy leaves no report and its deploy lock behind.
  - With it, the first signal is not forwarded. The controller writes a stop request into a private file named by
    E(SCHEMAGATE_STOP_FILE) (and names itself in E(SCHEMAGATE_CONTROLLER_PID)); the schemagate migrate module stops
    its statement in flight and undoes what it applied, C(deploy.yml)'s checkpoints fail the running block, and its
    rescue (emergency rollback) and always (deploy report, lock release) sections run.
  - A second signal falls back to Ansible's own handling (immediate stop).
requirements:
  - Enabled in C(callbacks_enabled) (the collection's C(ansible.cfg) does so).
author: schemagate contributors (@schemagate)
'''

import os
import shutil
import signal
import tempfile

from ansible.plugins.callback import CallbackBase

STOP_FILE_ENV = "SCHEMAGATE_STOP_FILE"
CONTROLLER_PID_ENV = "SCHEMAGATE_CONTROLLER_PID"
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'schemagate.mysql.interrupts'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._dir = tempfile.mkdtemp(prefix="schemagate-stop-")
        self._stop_file = os.path.join(self._dir, "stop")
        self._signalled = None
        # Inherited by every worker forked from now on, and by the modules they start (local connection).
        os.environ[STOP_FILE_ENV] = self._stop_file
        os.environ[CONTROLLER_PID_ENV] = str(os.getpid())
        # The TaskQueueManager installed its handlers before loading callbacks: keep them for a second signal.
        self._previous = {signum: signal.signal(signum, self._on_signal) for signum in _SIGNALS}

    def _on_signal(self, signum, frame):
        name = signal.Signals(signum).name
        if self._signalled is None:
            self._signalled = name
            partial = self._stop_file + ".partial"
            with open(partial, "w", encoding="utf-8") as handle:
                handle.write(name + "\n")
            os.replace(partial, self._stop_file)
            # Not through Display: a signal handler must not take its locks.
            os.write(2, ("\nschemagate: %s received: stopping the deploy safely (undo, report, release the lock); "
                         "send it again to abort at once.\n" % name).encode())
            return
        for other, handler in self._previous.items():
            signal.signal(other, handler)
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        else:
            os.kill(os.getpid(), signum)

    def v2_playbook_on_stats(self, stats):
        if self._signalled:
            self._display.warning("schemagate: this run was interrupted by %s; see the deploy report for what production is now."
                                  % self._signalled)
        shutil.rmtree(self._dir, ignore_errors=True)
