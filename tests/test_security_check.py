"""The verdict of ``make security`` (tools/security_check.py) on pip-audit's reports."""

from __future__ import annotations

from tools.security_check import Audit, exit_code, judge

CLEAN = {"name": "orjson", "version": "3.11.0", "vulns": []}
SKIPPED = {"name": "uvloop", "skip_reason": "Dependency not found on PyPI and could not be audited"}
VULNERABLE = {
    "name": "jinja2",
    "version": "3.1.2",
    "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": []}],
}


def test_a_known_vulnerability_fails_whatever_else_happened() -> None:
    audit = judge({"dependencies": [CLEAN, SKIPPED, VULNERABLE], "fixes": []}, "")
    assert audit.vulnerable == ["jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)"]
    assert exit_code(bandit_ok=True, audit=audit, required=False) == 1


def test_a_full_clean_audit_passes() -> None:
    audit = judge({"dependencies": [CLEAN, CLEAN], "fixes": []}, "")
    assert (audit.complete, audit.audited, audit.vulnerable) == (True, 2, [])
    assert exit_code(bandit_ok=True, audit=audit, required=True) == 0


def test_unreachable_data_is_reported_and_fails_only_when_required() -> None:
    skipped = judge({"dependencies": [CLEAN, SKIPPED], "fixes": []}, "")
    crashed = judge(None, "Traceback …\nrequests.exceptions.ConnectionError: no route\n")
    assert skipped.unaudited == ["uvloop"]
    assert crashed.error == "requests.exceptions.ConnectionError: no route"
    for audit in (skipped, crashed):
        assert not audit.complete
        assert exit_code(bandit_ok=True, audit=audit, required=False) == 0
        assert exit_code(bandit_ok=True, audit=audit, required=True) == 1


def test_a_bandit_finding_fails() -> None:
    assert exit_code(bandit_ok=False, audit=Audit(audited=3), required=False) == 1
