"""Reading SPF/DKIM/DMARC verdicts from the topmost authentication headers only."""

from __future__ import annotations

import pytest

from helpdesk.mail.auth import AuthResults, parse_auth


def test_only_the_topmost_authentication_results_count() -> None:
    headers = {
        "authentication-results": (
            "amazonses.com; spf=fail smtp.mailfrom=a@b; dkim=none; dmarc=fail header.from=b",
            "amazonses.com; spf=pass; dkim=pass; dmarc=pass",
        )
    }
    assert parse_auth(headers) == AuthResults(spf="fail", dkim="none", dmarc="fail")


def test_results_inside_comments_are_ignored() -> None:
    headers = {
        "authentication-results": (
            "mx.example (spf=pass; dkim=pass); spf=softfail (sender (not) permitted; spf=pass)"
            " smtp.mailfrom=x; dmarc=none",
        )
    }
    assert parse_auth(headers) == AuthResults(spf="softfail", dkim=None, dmarc="none")


def test_one_passing_dkim_signature_is_enough() -> None:
    headers = {"authentication-results": ("mx; dkim=fail header.d=relay; DKIM=Pass header.d=b",)}
    assert parse_auth(headers).dkim == "pass"


def test_received_spf_is_used_when_authentication_results_has_no_spf() -> None:
    headers = {
        "authentication-results": ("mx; dkim=pass",),
        "received-spf": ("Neutral (mx: no policy) client-ip=192.0.2.1", "pass (forged)"),
    }
    assert parse_auth(headers) == AuthResults(spf="neutral", dkim="pass", dmarc=None)


def test_authentication_results_spf_wins_over_received_spf() -> None:
    headers = {"authentication-results": ("mx; spf=fail",), "received-spf": ("pass",)}
    assert parse_auth(headers).spf == "fail"


def test_missing_or_empty_headers_give_no_results() -> None:
    assert parse_auth({}) == AuthResults(spf=None, dkim=None, dmarc=None)
    assert parse_auth({"authentication-results": ("mx; none",)}).spf is None


@pytest.mark.parametrize(
    ("results", "passed"),
    [
        (AuthResults(spf="pass", dkim=None, dmarc=None), True),
        (AuthResults(spf="fail", dkim="pass", dmarc="pass"), True),
        (AuthResults(spf="pass", dkim="pass", dmarc="fail"), False),
        (AuthResults(spf="softfail", dkim="fail", dmarc="none"), False),
        (AuthResults(spf=None, dkim=None, dmarc=None), False),
    ],
)
def test_passed_means_spf_or_dkim_passed_and_dmarc_did_not_fail(
    results: AuthResults, passed: bool
) -> None:
    assert results.passed is passed


def test_a_hostile_deeply_nested_comment_does_not_hang() -> None:
    value = "mx; spf=pass " + "(" * 5000 + ")" * 5000
    assert parse_auth({"authentication-results": (value,)}).spf == "pass"


def test_a_topmost_block_from_another_server_is_not_trusted_when_one_is_named() -> None:
    headers = {
        "authentication-results": (
            "mx.attacker.example; spf=pass; dkim=pass; dmarc=pass",
            "amazonses.com; spf=pass; dkim=pass; dmarc=pass",
        ),
        "received-spf": ("pass (forged)",),
    }
    assert parse_auth(headers) == AuthResults(spf="pass", dkim="pass", dmarc="pass")
    trusted = parse_auth(headers, trusted_authserv_id="amazonses.com")
    assert trusted == AuthResults(spf=None, dkim=None, dmarc=None)
    assert not trusted.passed


def test_the_named_server_is_recognised_with_a_version_and_in_any_case() -> None:
    headers = {"authentication-results": ("AmazonSES.com 1; spf=pass; dkim=none; dmarc=none",)}
    assert parse_auth(headers, trusted_authserv_id="amazonses.com").passed


def test_without_any_authentication_results_a_named_server_trusts_nothing() -> None:
    headers = {"received-spf": ("pass (spfCheck: domain designates) client-ip=192.0.2.1",)}
    assert parse_auth(headers).spf == "pass"
    assert parse_auth(headers, trusted_authserv_id="amazonses.com").spf is None
