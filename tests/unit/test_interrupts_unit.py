"""The stop request (core/interrupts.py) and the interrupted deploy's outcome (deploy/deploy_report.py), without a server."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from plugins.module_utils.core import interrupts
from plugins.module_utils.deploy.deploy_report import Outcome, decide


def test_a_signal_becomes_a_stop_request_and_the_handlers_are_put_back():
    before = signal.getsignal(signal.SIGTERM)
    stopped = []
    with interrupts.StopWatch(on_stop=stopped.append, controller=0) as watch:
        watch.check()  # nothing yet
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(interrupts.Interrupted) as caught:
            watch.check()
        watch._thread.join(2)
    assert caught.value.reason == "SIGTERM" and stopped == ["SIGTERM"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_controllers_stop_file_is_a_stop_request(tmp_path, monkeypatch):
    stop_file = tmp_path / "stop"
    monkeypatch.setenv(interrupts.STOP_FILE_ENV, str(stop_file))
    watch = interrupts.StopWatch(controller=0)
    assert watch.poll() is None
    stop_file.write_text("SIGINT\n")
    assert watch.poll() == "SIGINT"


def test_a_controller_that_is_gone_is_a_lost_controller():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    watch = interrupts.StopWatch(controller=child.pid)
    assert watch.poll() == "lost controller"
    watch.ignoring = True  # while undoing, nothing more is stopped
    watch.check()


def test_the_outcome_says_whether_an_interrupted_deploy_is_untouched_or_rolled_back():
    unchanged = {"passed": True}
    assert decide("x", {}, unchanged, {}, "SIGINT", {"undone": []}) is Outcome.INTERRUPTED_UNTOUCHED
    assert decide("x", {}, unchanged, {}, "", {"interrupted": "SIGTERM", "undone": ["m1"]}) is Outcome.INTERRUPTED_ROLLED_BACK
    assert decide("x", {}, {}, {"passed": True}, "SIGTERM", {}) is Outcome.INTERRUPTED_ROLLED_BACK
    assert decide("x", {}, {}, {}, "SIGHUP", {}, locked=False) is Outcome.INTERRUPTED_NOT_STARTED
    assert decide("x", {}, {}, {"passed": False}, "SIGTERM", {}) is Outcome.UNVERIFIED
    # An interrupt after the smoke test passed changed nothing: the deploy is complete.
    assert decide("", {"passed": True}, {}, {}, "SIGINT", {}) is Outcome.DEPLOYED
    assert decide("x", {}, unchanged, {}) is Outcome.ABORTED  # no interrupt: as before


def test_the_controller_is_an_ansible_program_not_a_path_under_dot_ansible():
    assert interrupts._runs_ansible("/venv/bin/python3\0/venv/bin/ansible-playbook\0deploy.yml\0")
    assert interrupts._runs_ansible("/usr/bin/ansible-playbook\0site.yml\0")
    assert not interrupts._runs_ansible("/bin/sh\0-c\0/usr/bin/python3 /root/.ansible/tmp/x/AnsiballZ_migrate.py && sleep 0\0")
    assert not interrupts._runs_ansible("/usr/bin/python3\0/root/.ansible/tmp/x/AnsiballZ_migrate.py\0")
