"""The check registry, verdicts, waivers and the step checks: pure Python, no server."""
from __future__ import annotations

import os
import re

import pytest

from plugins.module_utils.core.check_registry import CHECKS, GROUP_ORDER, Severity, definition
from plugins.module_utils.core.checks import CheckResult, Waiver, apply_waivers, failures, parse_waivers, summary_line
from plugins.module_utils.core.errors import SchemagateError
from plugins.module_utils.gate.step_checks import step_checks

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_UTILS = os.path.join(REPO, "plugins", "module_utils")


def test_codes_are_unique_well_formed_and_in_a_known_group():
    for code, check in CHECKS.items():
        assert code == check.code and re.fullmatch(r"[A-Z]{2}\d{3}", code), code
        assert check.group in GROUP_ORDER, code
        assert check.title and check.description and not check.description.endswith("."), code


def test_every_code_used_in_the_python_is_registered_and_every_registered_code_is_used():
    used = set()
    for folder, _dirs, files in os.walk(MODULE_UTILS):
        for name in files:
            if name.endswith(".py") and name != "check_registry.py":
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    used.update(re.findall(r'"([A-Z]{2}\d{3})"', handle.read()))
    assert used - set(CHECKS) == set(), "codes used but not registered"
    assert set(CHECKS) - used == set(), "codes registered but never emitted"


def test_the_readme_lists_every_check_with_its_code_and_title():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    for code, check in CHECKS.items():
        assert re.search(rf"\| `{code}` \| {re.escape(check.group)} \| {re.escape(check.title)} \|", readme), code


def test_an_unregistered_code_is_refused():
    with pytest.raises(KeyError):
        CheckResult("ZZ999", "nothing", True)
    with pytest.raises(SchemagateError, match="no registered code"):
        CheckResult.from_dict({"code": "ZZ999", "name": "x", "passed": True})


def test_a_failure_blocks_unless_its_severity_or_a_waiver_says_otherwise():
    failed = CheckResult("SV112", "every foreign key is indexed", False, "t.fk is not indexed", subject="*")
    advisory = CheckResult("BM101", "slow query", False, "advisory only: slow", severity=Severity.WARN)
    informative = CheckResult("PF101", "server", False, "unknown")
    assert failed.blocking and failed.verdict == "FAIL"
    assert not advisory.blocking and advisory.verdict == "warn"
    assert definition("PF101").severity is Severity.INFO and not informative.blocking
    assert failures([failed, advisory, informative]) == [failed]
    assert summary_line([advisory]) == "1 checks, none blocking, 1 reported as warnings"


def test_a_waiver_covers_its_check_on_its_object_only_and_stale_waivers_are_returned():
    on_a = CheckResult("SV103", "fk orders.customer_id", False, "wrong rule", subject="orders.customer_id")
    on_b = CheckResult("SV103", "fk orders.shop_id", False, "wrong rule", subject="orders.shop_id")
    passing = CheckResult("SV111", "every table has a primary key", True, subject="*")
    waivers = [Waiver("SV103", "orders.customer_id", "legacy rule, ticket 42"), Waiver("SV111", "*", "no longer needed")]
    stale = apply_waivers([on_a, on_b, passing], waivers)
    assert on_a.verdict == "waived" and on_a.waived == "legacy rule, ticket 42" and not on_a.blocking
    assert on_b.blocking
    assert stale == [waivers[1]]
    round_trip = CheckResult.from_dict(on_a.as_dict())
    assert round_trip.as_dict() == on_a.as_dict()


@pytest.mark.parametrize(
    "entry, problem",
    [
        ("not a mapping", "must be a mapping"),
        ({"code": "SV103", "object": "t.c"}, "reason is missing"),
        ({"code": "SV103", "reason": "because"}, "object is missing"),
        ({"code": "XX100", "object": "t", "reason": "because"}, "is not a check code"),
        ({"code": "SV103", "object": "t", "reason": "r", "until": "2027"}, "unknown key 'until'"),
    ],
)
def test_malformed_waivers_are_one_line_naming_the_entry(entry, problem):
    with pytest.raises(SchemagateError, match=re.escape("rules.yaml: waivers[0]: ") + ".*" + re.escape(problem)):
        parse_waivers([entry], "rules.yaml")


def test_step_results_become_coded_checks():
    checks = step_checks({
        "copy": [
            {"item": "db_sg_gate_1", "clone": {"tables": ["a", "b"], "seconds": 0.5}},
            {"item": "db_sg_rb_1", "failed": True, "msg": "Cloning failed: (1142) denied"},
        ],
        "seed": [{"phase": "existing tables", "seeded": {"total_rows": 10, "seconds": 0.1, "rows_per_second": 100}}],
        "migrate": {"failed": True, "msg": "Migration m1 (up) failed at statement 2 of 2", "failed_migration": "m1",
                    "created_objects": ["table t"]},
        "error": "",
    })
    assert [(c.code, c.name, c.passed) for c in checks] == [
        ("RH101", "clone into db_sg_gate_1", True),
        ("RH101", "clone into db_sg_rb_1", False),
        ("SD101", "seed existing tables", True),
        ("MG101", "m1", False),
    ]
    assert checks[3].details == ["table t"] and checks[3].subject == "m1"
    stopped = step_checks({"error": "Rehearse: boom"})
    assert [(c.code, c.passed) for c in stopped] == [("GT101", False)]
