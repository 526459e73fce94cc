"""The agent API: the same rules and mail as the email path, with clear HTTP answers."""

from __future__ import annotations

from typing import Any

from desk_support import open_form_ticket

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

LENA = "lena@support.example"


def call(
    stack: LocalStack, method: str, path: str, body: Any = None, *, agent: str = LENA
) -> tuple[int, Any]:
    response = stack.call_agent_api(method, path, body, agent=agent)
    return response.status, response.json()


def test_an_agent_reads_the_queue_and_a_ticket_with_its_conversation(stack: LocalStack) -> None:
    ref = open_form_ticket(stack)
    status, queue = call(stack, "GET", "/agent/queue?team=general")
    assert status == 200
    assert [(t["ref"], t["assignee"]) for t in queue["tickets"]] == [(ref, LENA)]
    status, ticket = call(stack, "GET", f"/agent/tickets/{ref}")
    assert status == 200
    assert ticket["subject"] == "Where is my order?"
    assert ticket["contact"] == {"email": "anna@example.com", "name": "Anna Schmidt"}
    assert [(m["direction"], m["text"]) for m in ticket["messages"]] == [
        ("in", "It has been two weeks.")
    ]


def test_a_public_reply_is_relayed_and_a_note_is_not(stack: LocalStack) -> None:
    ref = open_form_ticket(stack)
    status, answer = call(
        stack, "POST", f"/agent/tickets/{ref}/replies", {"text": "It ships today."}
    )
    assert status == 201
    assert answer["message"]["direction"] == "out"
    status, _ = call(
        stack,
        "POST",
        f"/agent/tickets/{ref}/replies",
        {"text": "Shipper is slow again.", "public": False},
    )
    assert status == 201
    state = build_state(stack)
    [ticket] = state["tickets"]
    assert ticket["status"] == "open"
    assert [m["direction"] for m in ticket["messages"]] == ["in", "out", "note"]
    [reply] = [m for m in state["outbox"] if m["kind"] == "reply"]
    assert reply["to"] == ["anna@example.com"]
    assert reply["text"].startswith("It ships today.")
    assert not [m for m in state["outbox"] if "Shipper is slow" in m["text"]]


def test_a_reply_posted_again_with_its_idempotency_key_mails_the_customer_once(
    stack: LocalStack,
) -> None:
    # Attack 16, I1: a client's retry after a timeout answered the customer twice.
    ref = open_form_ticket(stack)

    def post(key: str) -> Any:
        return stack.http(
            "POST",
            f"/agent/tickets/{ref}/replies",
            body='{"text": "It ships today."}',
            headers={
                "authorization": f"Bearer {stack.agent_token(LENA)}",
                "content-type": "application/json",
                "idempotency-key": key,
            },
        )

    first, again, bad = post("retry-1"), post("retry-1"), post("bad key")

    assert (first.status, again.status) == (201, 201)
    assert again.json() == first.json()
    assert (bad.status, bad.json()["field"]) == (422, "Idempotency-Key")
    state = build_state(stack)
    assert [m["kind"] for m in state["outbox"]].count("reply") == 1


def test_changes_follow_the_command_rules_and_name_the_wrong_field(stack: LocalStack) -> None:
    ref = open_form_ticket(stack)
    for body, field in (
        ({"status": "closed"}, "status"),
        ({"priority": "asap"}, "priority"),
        ({"assignee": "nobody"}, "assignee"),
        ({"team": "space"}, "team"),
        ({"colour": "red"}, "colour"),
        # 3,000 tags in one change was a 500 (a transaction over DynamoDB's 100 items).
        ({"tags": [f"t{n}" for n in range(3000)]}, "tags"),
    ):
        status, answer = call(stack, "PATCH", f"/agent/tickets/{ref}", body)
        assert (status, answer["field"]) == (422, field)
        assert answer["detail"].startswith(f"{field}: ")
    [unchanged] = build_state(stack)["tickets"]
    assert (unchanged["status"], unchanged["priority"]) == ("new", "normal")

    status, ticket = call(
        stack,
        "PATCH",
        f"/agent/tickets/{ref}",
        {"status": "pending", "priority": "high", "assignee": "Wei", "tags": ["late-shipper"]},
    )
    assert status == 200
    assert (ticket["status"], ticket["priority"], ticket["assignee"], ticket["tags"]) == (
        "pending",
        "high",
        "wei@support.example",
        ["late-shipper"],
    )
    outbox = build_state(stack)["outbox"]
    assert [m["kind"] for m in outbox if m["to"] == ["anna@example.com"]] == [
        "acknowledgement",
        "notification",
    ]
    assert [m["kind"] for m in outbox if m["to"] == ["wei@support.example"]] == ["assignment"]


def test_strangers_unknown_tickets_and_unknown_teams_get_clear_answers(
    stack: LocalStack,
) -> None:
    assert stack.http("GET", "/agent/queue?team=general").status == 401
    status, answer = call(stack, "GET", "/agent/queue?team=general", agent="eve@example.com")
    assert (status, answer["detail"]) == (
        403,
        "eve@example.com is not an agent of this help desk",
    )
    status, answer = call(stack, "GET", "/agent/tickets/HD-222222")
    assert (status, answer["detail"]) == (404, "no ticket HD-222222")
    status, answer = call(stack, "GET", "/agent/queue?team=space")
    assert status == 422 and answer["field"] == "team"
    status, answer = call(stack, "POST", "/agent/tickets/HD-222222/replies", {"text": "Hi"})
    assert (status, answer["detail"]) == (404, "no ticket HD-222222")
    ref = open_form_ticket(stack)
    status, answer = call(stack, "POST", f"/agent/tickets/{ref}/replies", {"text": ""})
    assert status == 422 and answer["field"] == "text"


def test_a_query_parameter_a_route_does_not_read_is_refused_naming_it(stack: LocalStack) -> None:
    # First-user run 16, #6: "?assignee=me" and "?status=new" answered the whole queue,
    # and the agent believed it filtered (request bodies refuse an unknown field).
    ref = open_form_ticket(stack)
    for path, unknown in (
        ("/agent/queue?team=general&assignee=me", "assignee"),
        ("/agent/queue?status=new", "status"),
        (f"/agent/tickets/{ref}?page=2", "page"),
    ):
        status, answer = call(stack, "GET", path)
        assert (status, answer["field"]) == (422, unknown), (path, answer)
        assert answer["reason"].startswith("unknown query parameter (allowed: ")
    assert call(stack, "GET", "/agent/queue?team=general&limit=5")[0] == 200
    assert call(stack, "GET", f"/agent/tickets/{ref}")[0] == 200


def test_an_empty_change_is_refused_as_the_guide_says(stack: LocalStack) -> None:
    # First-user run 16, #6: PATCH {"tags": []} answered 200, changing nothing.
    ref = open_form_ticket(stack)
    empties: list[dict[str, list[str]]] = [{}, {"tags": []}]
    for empty in empties:
        status, answer = call(stack, "PATCH", f"/agent/tickets/{ref}", empty)
        assert (status, answer["field"]) == (422, "body"), (empty, answer)


RECEIPT_MAIL = (
    b"Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=anna@example.com;"
    b" dkim=pass header.i=@example.com; dmarc=pass header.from=example.com\r\n"
    b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n"
    b"From: Anna Schmidt <anna@example.com>\r\nTo: support@support.example\r\n"
    b"Subject: My receipt\r\nMessage-ID: <receipt-1@example.com>\r\n"
    b"Date: Mon, 23 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n"
    b"--b1\r\nContent-Type: text/plain\r\n\r\nThe receipt, as asked.\r\n"
    b"--b1\r\nContent-Type: application/pdf; name=receipt.pdf\r\n"
    b'Content-Disposition: attachment; filename="r\xc3\xa9\xc3\xa7u.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcgcmVjZWlwdA==\r\n--b1--\r\n"
)


def test_an_agent_downloads_a_customers_file_and_another_team_cannot(stack: LocalStack) -> None:
    # First-user run 14, #3: the mails named files "kept with the ticket", and nothing
    # let an agent open one.
    stack.deliver_email(RECEIPT_MAIL)
    stack.drain()
    [ref] = [t["ref"] for t in build_state(stack)["tickets"]]
    status, ticket = call(stack, "GET", f"/agent/tickets/{ref}")
    [listed] = ticket["messages"][0]["attachments"]

    file = stack.call_agent_api("GET", listed["download"], agent=LENA)
    other_team = stack.call_agent_api("GET", listed["download"], agent="omar@support.example")

    assert (status, listed["filename"], listed["size"]) == (200, "réçu.pdf", 16)
    assert (file.status, file.body) == (200, "%PDF-1.7 receipt")
    assert file.headers["content-type"] == "application/octet-stream"
    assert file.headers["content-disposition"] == (
        "attachment; filename=\"r??u.pdf\"; filename*=UTF-8''r%C3%A9%C3%A7u.pdf"
    )
    assert file.headers["x-content-type-options"] == "nosniff"
    assert other_team.status == 403
    assert stack.call_agent_api("GET", f"/agent/tickets/{ref}/files/x-1", agent=LENA).status == 404


def test_every_route_refuses_a_query_parameter_it_does_not_read(stack: LocalStack) -> None:
    # First-user run 17, #1: "?public=false" on a reply was ignored, and the text meant as
    # a note was mailed to the customer.
    ref = open_form_ticket(stack)
    for method, path, body in (
        ("POST", f"/agent/tickets/{ref}/replies?public=false", {"text": "Batch 12 again."}),
        ("PATCH", f"/agent/tickets/{ref}?dry_run=1", {"priority": "high"}),
        ("GET", f"/agent/tickets/{ref}/files/m1-1?inline=1", None),
    ):
        status, answer = call(stack, method, path, body)
        assert status == 422, (path, answer)
        assert answer["field"] in ("public", "dry_run", "inline"), answer
    state = build_state(stack)
    [ticket] = [t for t in state["tickets"] if t["ref"] == ref]
    assert [m["direction"] for m in ticket["messages"]] == ["in"]  # nothing was written
    assert ticket["priority"] == "normal"
