"""Reading SPF/DKIM/DMARC verdicts from the topmost authentication headers only, by the
grammar of RFC 8601, and what power they give the address in From (RFC 7489 section 3.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.mail.auth import (
    MAX_HEADER_CHARS,
    AuthResults,
    DkimResult,
    aligned,
    organizational_domain,
    parse_auth,
)
from helpdesk.mail.parse import parse_mail
from helpdesk.mail.robots import is_spoofed

SES = "amazonses.com"
# Written the way SES writes it (AWS SES Developer Guide, "Sample incoming email event").
SES_DOC_EXAMPLE = (
    "amazonses.com; spf=pass (spfCheck: domain of example.com designates 203.0.113.0\n"
    " as permitted sender) client-ip=203.0.113.0;\n"
    " envelope-from=prvs=144d0cba42=sender@example.com; helo=smtp.example.com;\n"
    " dkim=pass header.i=@example.com;\n"
    " dmarc=none header.from=example.com;"
)


def verdicts(*values: str) -> dict[str, tuple[str, ...]]:
    return {"authentication-results": values}


def words(results: AuthResults) -> tuple[str | None, str | None, str | None]:
    return results.spf, results.dkim, results.dmarc


def test_the_block_ses_documents_is_read_with_its_domains() -> None:
    results = parse_auth(verdicts(SES_DOC_EXAMPLE), trusted_authserv_id=SES)
    assert results == AuthResults(
        spf="pass",
        dkim="pass",
        dmarc="none",
        spf_domain="example.com",
        dkim_signatures=(DkimResult("pass", "example.com"),),
        dmarc_from="example.com",
    )
    assert results.authenticates("sender@example.com")
    assert not results.authenticates("sender@example.org")


def test_smtp_mailfrom_header_d_and_versions_are_read_as_rfc_8601_writes_them() -> None:
    results = parse_auth(
        verdicts(
            'mx.example 1; spf = pass smtp.mailfrom = "a b"@Bounce.Example.COM. ;'
            " dkim/1=fail header.d=relay.example; DKIM=Pass (good) header.d=example.com"
            " header.i=@eu.example.com; dmarc=pass header.from=example.com"
        )
    )
    assert results.spf_domain == "bounce.example.com"
    assert results.dkim_signatures == (
        DkimResult("fail", "relay.example"),
        DkimResult("pass", "example.com"),
    )
    assert words(results) == ("pass", "pass", "pass")


def test_only_the_topmost_authentication_results_count() -> None:
    headers = verdicts(
        "amazonses.com; spf=fail smtp.mailfrom=a@b; dkim=none; dmarc=fail header.from=b",
        "amazonses.com; spf=pass; dkim=pass; dmarc=pass",
    )
    assert words(parse_auth(headers)) == ("fail", "none", "fail")


def test_results_inside_comments_are_ignored() -> None:
    headers = verdicts(
        "mx.example (spf=pass; dkim=pass); spf=softfail (sender (not) permitted; spf=pass)"
        " smtp.mailfrom=x; dmarc=none"
    )
    assert words(parse_auth(headers)) == ("softfail", None, "none")


def test_a_quoted_envelope_address_cannot_add_verdicts() -> None:
    forged = (
        "amazonses.com; spf=fail (spfCheck: no) client-ip=203.0.113.66;"
        ' envelope-from="x;dkim=pass header.i=@support.example;dmarc=pass'
        ' header.from=support.example;"@attacker.example; helo=mx.attacker.example;'
        " dkim=none; dmarc=none header.from=support.example;"
    )
    results = parse_auth(verdicts(forged), trusted_authserv_id=SES)
    assert words(results) == ("fail", "none", "none")
    assert results.spf_domain == "attacker.example"
    assert not results.authenticates("lena@support.example")


def test_a_quoted_string_in_smtp_mailfrom_keeps_its_semicolons() -> None:
    value = 'mx; spf=pass smtp.mailfrom="a;dmarc=pass"@x.example; dmarc=fail'
    results = parse_auth(verdicts(value))
    assert words(results) == ("pass", None, "fail")


@pytest.mark.parametrize(
    "value",
    [
        "amazonses.com; spf=pass; dkim=pass; dmarc=fail; dmarc=pass header.from=support.example",
        "amazonses.com; spf=fail; spf=pass smtp.mailfrom=support.example; dmarc=none",
        'amazonses.com; spf=pass smtp.mailfrom="open@support.example; dkim=pass',
        "amazonses.com; spf=pass (unclosed comment; dmarc=pass",
        "amazonses.com; spf=pass) smtp.mailfrom=support.example",
        "amazonses.com; spf=pass smtp.mailfrom=a@support.example; dmarc=" + "x" * MAX_HEADER_CHARS,
        'amazonses.com; spf="pass"; dkim=none',
    ],
)
def test_a_block_that_is_ambiguous_malformed_or_too_long_is_not_trusted(value: str) -> None:
    results = parse_auth(verdicts(value), trusted_authserv_id=SES)
    assert words(results) == (None, None, None)
    assert not results.authenticates("lena@support.example")


def test_one_passing_dkim_signature_is_enough() -> None:
    headers = verdicts("mx; dkim=fail header.d=relay; DKIM=Pass header.d=b")
    assert parse_auth(headers).dkim == "pass"


def test_received_spf_is_used_when_authentication_results_has_no_spf() -> None:
    headers = {
        "authentication-results": ("mx; dkim=pass",),
        "received-spf": (
            "Neutral (mx: no policy) client-ip=192.0.2.1; envelope-from=a@Example.org;",
            "pass (forged)",
        ),
    }
    results = parse_auth(headers)
    assert words(results) == ("neutral", "pass", None)
    assert results.spf_domain == "example.org"


def test_authentication_results_spf_wins_over_received_spf() -> None:
    headers = {"authentication-results": ("mx; spf=fail",), "received-spf": ("pass",)}
    assert parse_auth(headers).spf == "fail"


def test_missing_or_empty_headers_give_no_results() -> None:
    assert words(parse_auth({})) == (None, None, None)
    assert parse_auth(verdicts("mx; none")).spf is None


def test_a_hostile_deeply_nested_comment_is_read_in_one_pass() -> None:
    value = "mx; spf=pass " + "(" * 3000 + ")" * 3000
    assert parse_auth(verdicts(value)).spf == "pass"


def test_a_topmost_block_from_another_server_is_not_trusted_when_one_is_named() -> None:
    headers = {
        "authentication-results": (
            "mx.attacker.example; spf=pass; dkim=pass; dmarc=pass",
            "amazonses.com; spf=pass; dkim=pass; dmarc=pass",
        ),
        "received-spf": ("pass (forged)",),
    }
    assert words(parse_auth(headers)) == ("pass", "pass", "pass")
    trusted = parse_auth(headers, trusted_authserv_id=SES)
    assert words(trusted) == (None, None, None)


def test_the_named_server_is_recognised_with_a_version_and_in_any_case() -> None:
    headers = verdicts("AmazonSES.com 1; spf=none; dkim=pass header.i=@a.example; dmarc=none")
    assert parse_auth(headers, trusted_authserv_id=SES).authenticates("x@a.example")


def test_without_any_authentication_results_a_named_server_trusts_nothing() -> None:
    headers = {"received-spf": ("pass (spfCheck: domain designates) client-ip=192.0.2.1",)}
    assert parse_auth(headers).spf == "pass"
    assert parse_auth(headers, trusted_authserv_id=SES).spf is None


# ------------------------------------------------------------------ alignment
@pytest.mark.parametrize(
    ("authenticated", "from_domain", "is_aligned"),
    [
        ("support.example", "support.example", True),
        ("mail.support.example", "support.example", True),  # relaxed: same organization
        ("support.example", "eu.support.example", True),
        ("a.support.example", "b.support.example", True),
        ("support.example.attacker.example", "support.example", False),
        ("attacker.example", "support.example", False),
        ("a.co.uk", "b.co.uk", False),  # co.uk is a public suffix
        ("mail.shop.co.uk", "shop.co.uk", True),
        ("alice.github.io", "bob.github.io", False),  # a private-section suffix
        ("co.uk", "co.uk", True),
        (None, "support.example", False),
    ],
)
def test_relaxed_alignment_compares_organizational_domains(
    authenticated: str | None, from_domain: str, is_aligned: bool
) -> None:
    assert aligned(authenticated, from_domain) is is_aligned


def test_the_organizational_domain_comes_from_the_bundled_public_suffix_list() -> None:
    assert organizational_domain("a.b.shop.co.uk") == "shop.co.uk"
    assert organizational_domain("co.uk") is None


# The table: each row is what SES stamped, the From address, and the power it gives:
# "agent" (acts as Lena), "customer" (an outsider, served as a customer), "spoofed"
# (claims an internal address without proof: kept, flagged, never answered).
DKIM_OURS = "dkim=pass header.i=@support.example"
SPF_PASS_ATTACKER = "spf=pass client-ip=203.0.113.66; envelope-from=b@attacker.example"
SPF_PASS_OURS = "spf=pass client-ip=203.0.113.7; envelope-from=b@support.example"
SPF_PASS_SUB = "spf=pass client-ip=203.0.113.7; envelope-from=b@mail.support.example"
LENA = "lena@support.example"
ANNA = "anna@shop.co.uk"
POWER_TABLE = [
    # DMARC pass for the From domain
    (LENA, f"spf=fail; {DKIM_OURS}; dmarc=pass header.from=support.example", "agent"),
    (LENA, "spf=none; dkim=none; dmarc=pass header.from=support.example", "agent"),
    (LENA, "spf=pass; dkim=pass; dmarc=pass header.from=attacker.example", "spoofed"),
    (LENA, "spf=pass; dkim=pass; dmarc=pass", "spoofed"),  # which From? not said
    # no DMARC record (dmarc=none): an aligned SPF or DKIM pass
    (LENA, f"{SPF_PASS_OURS}; dkim=none; dmarc=none header.from=support.example", "agent"),
    (LENA, f"{SPF_PASS_SUB}; dkim=none; dmarc=none header.from=support.example", "agent"),
    (LENA, "spf=none; dkim=pass header.i=@support.example; dmarc=none", "agent"),
    (LENA, "spf=none; dkim=pass header.d=support.example header.i=@eu.support.example", "agent"),
    (LENA, f"{SPF_PASS_ATTACKER}; dkim=pass header.i=@attacker.example; dmarc=none", "spoofed"),
    (LENA, f"{SPF_PASS_ATTACKER}; dkim=none; dmarc=none", "spoofed"),
    (LENA, "spf=none; dkim=pass header.i=@attacker.example; dmarc=none", "spoofed"),
    (LENA, "spf=pass client-ip=1.2.3.4; envelope-from=x@support.example.evil.example", "spoofed"),
    # aligned, but not a pass
    (LENA, "spf=softfail client-ip=1.2.3.4; envelope-from=b@support.example; dkim=none", "spoofed"),
    (LENA, "spf=neutral client-ip=1.2.3.4; envelope-from=b@support.example", "spoofed"),
    (LENA, "spf=fail client-ip=1.2.3.4; envelope-from=b@support.example", "spoofed"),
    (LENA, "spf=temperror; dkim=temperror header.i=@support.example", "spoofed"),
    (LENA, "spf=permerror; dkim=permerror header.i=@support.example", "spoofed"),
    (LENA, "spf=none; dkim=fail header.i=@support.example; dmarc=none", "spoofed"),
    (LENA, "spf=none; dkim=policy header.i=@support.example; dmarc=none", "spoofed"),
    # DMARC failed (a strict policy included) or could not be evaluated: a veto
    (LENA, f"{SPF_PASS_SUB}; dkim=none; dmarc=fail header.from=support.example", "spoofed"),
    (LENA, f"{SPF_PASS_OURS}; dkim=pass header.i=@support.example; dmarc=temperror", "spoofed"),
    (LENA, f"{SPF_PASS_OURS}; dmarc=permerror header.from=support.example", "spoofed"),
    # the MAIL FROM was null: SPF checked HELO (RFC 7208 section 2.4)
    (LENA, "spf=pass client-ip=1.2.3.4; envelope-from=; helo=mail.support.example", "agent"),
    (LENA, "spf=pass client-ip=1.2.3.4; envelope-from=; helo=mail.attacker.example", "spoofed"),
    (LENA, "none", "spoofed"),
    # another address of the desk's domain, not an agent: never an agent
    ("it@support.example", f"{SPF_PASS_OURS}; dkim=none; dmarc=none", "customer"),
    ("it@support.example", f"{SPF_PASS_ATTACKER}; dmarc=none", "spoofed"),
    # outsiders are customers whatever their verdicts
    (ANNA, "spf=pass client-ip=1.2.3.4; envelope-from=x@mail.shop.co.uk; dmarc=none", "customer"),
    (ANNA, "spf=pass client-ip=1.2.3.4; envelope-from=x@evil.co.uk; dmarc=none", "customer"),
    (ANNA, "spf=fail; dkim=fail; dmarc=fail header.from=shop.co.uk", "customer"),
    (ANNA, "none", "customer"),
]
# An agent whose own domain sits under a public suffix: a neighbour under co.uk is not it.
ELLA = "ella@desk.co.uk"
POWER_TABLE += [
    (ELLA, "spf=pass envelope-from=x@evil.co.uk; dkim=pass header.i=@evil.co.uk", "spoofed"),
    (ELLA, "spf=pass client-ip=1.2.3.4; envelope-from=x@bounce.desk.co.uk; dmarc=none", "agent"),
    (ELLA, "spf=none; dkim=pass header.d=co.uk; dmarc=none", "spoofed"),
]  # fmt: skip
AGENTS = frozenset({LENA, ELLA})


def power(sender: str, stamped: str) -> str:
    mail = parse_mail(
        f"Authentication-Results: amazonses.com; {stamped}\nFrom: {sender}\n"
        "To: support@support.example\nSubject: Hi\n\nHello\n".encode()
    )
    mail_auth = parse_auth(mail.headers, trusted_authserv_id=SES)
    from dataclasses import replace

    mail = replace(mail, auth=mail_auth)
    if is_spoofed(mail, own_domain="support.example", agent_emails=AGENTS):
        return "spoofed"
    return "agent" if sender in AGENTS and mail.auth.authenticates(sender) else "customer"


@pytest.mark.parametrize(("sender", "stamped", "expected"), POWER_TABLE)
def test_each_combination_of_verdicts_and_domains_gives_its_power(
    sender: str, stamped: str, expected: str
) -> None:
    assert power(sender, stamped) == expected


# ------------------------------------------------------------------ properties
QTEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'),
    max_size=80,
)


@given(local=QTEXT)
def test_no_quoted_envelope_address_changes_a_failing_verdict(local: str) -> None:
    block = (
        "amazonses.com; spf=fail (spfCheck: no) client-ip=203.0.113.66;"
        f' envelope-from="{local}"@attacker.example; helo=mx.attacker.example;'
        " dkim=none; dmarc=none header.from=support.example;"
    )
    results = parse_auth(verdicts(block), trusted_authserv_id=SES)
    assert words(results) == ("fail", "none", "none")
    assert results.spf_domain == "attacker.example"
    assert not results.authenticates("lena@support.example")


@given(value=st.text(max_size=300))
def test_any_header_text_is_read_without_error(value: str) -> None:
    results = parse_auth(verdicts(value), trusted_authserv_id=SES)
    results.authenticates("lena@support.example")


def test_a_verdict_folded_in_after_the_dmarc_result_makes_the_block_untrusted() -> None:
    # The outsider review's attack: the sender's own header, starting with white space,
    # right under SES's block, continues it with a passing signature for the agents'
    # domain. SES writes dmarc last, so anything after it is not SES's.
    headers = verdicts(
        "amazonses.com; spf=none (spfCheck: x) client-ip=198.51.100.7; "
        "envelope-from=m@evil.example; helo=mail.evil.example; dkim=none; "
        "dmarc=none header.from=support.example;\r\n\tdkim=pass header.i=@support.example;"
    )
    assert not parse_auth(headers, trusted_authserv_id="amazonses.com").authenticates(
        "lena@support.example"
    )


FORGED_GMAIL = "spf=softfail smtp.mailfrom=x@gmail.com; dkim=none"
SIGNED_GMAIL = "spf=pass smtp.mailfrom=x@gmail.com; dkim=pass header.d=gmail.com"


@pytest.mark.parametrize(
    ("verdict", "disproved"),
    [
        # DMARC failed for the From's own domain: proven forged (attack 10, F1).
        (f"{FORGED_GMAIL}; dmarc=fail header.from=gmail.com", True),
        # A verdict about another domain proves nothing about this From.
        (f"{FORGED_GMAIL}; dmarc=fail header.from=other.example", False),
        # No policy published, a policy that could not be read, or a pass: not proven.
        (f"{FORGED_GMAIL}; dmarc=none header.from=gmail.com", False),
        (f"{FORGED_GMAIL}; dmarc=temperror header.from=gmail.com", False),
        (f"{SIGNED_GMAIL}; dmarc=pass header.from=gmail.com", False),
    ],
)
def test_only_a_dmarc_failure_for_the_from_domain_itself_disproves_a_sender(
    verdict: str, disproved: bool
) -> None:
    results = parse_auth(verdicts(f"{SES}; {verdict}"))

    assert results.disproves("x@gmail.com") is disproved
