"""Cutting quoted conversation out of replies, in the clients and languages we serve."""

from __future__ import annotations

import pytest

from helpdesk.mail.quotes import strip_quoted, strip_quoted_html

NEW = "New text.\n\n"


@pytest.mark.parametrize(
    "quote",
    [
        "On Tue, 2 Jan 2024 at 10:00, Support <support@support.example> wrote:\n> old\n",
        "On Tue, 2 Jan 2024 at 10:00, Support Team <\nsupport@support.example> wrote:\n> old",
        "-----Original Message-----\nFrom: Support\nSent: Tuesday\n\nold",
        "________________________________\nFrom: Support <s@x>\nSent: Tuesday\nTo: me\n\nold",
        "From: Support <s@x>\nDate: Tuesday, 2 January 2024\nTo: me\nSubject: Re: x\n\nold",
        "发件人: 客服 <s@x>\n发送时间: 2024年1月2日 10:00\n收件人: 我\n主题: 订单\n\n旧内容",
        "------------------ 原始邮件 ------------------\n发件人: 客服\n\n旧内容",
        "-----原始郵件-----\n寄件者: 客服\n\n舊內容",
        "在 2024年1月2日 10:00，客服 <s@x> 写道：\n> 旧内容",
        "客服 <s@x> 于2024年1月2日周二 10:00写道：\n\n> 旧内容",
        "От: Поддержка <s@x>\nОтправлено: 2 января 2024 г. 10:00\nКому: я\n\nстарое",
        "-----Исходное сообщение-----\nОт: Поддержка\n\nстарое",
        "02.01.2024 10:00, Поддержка пишет:\n> старое",
        "2 янв. 2024 г., в 10:00, Поддержка <s@x> написал(а):\n> старое",
        "вт, 2 янв. 2024 г. в 10:00, Поддержка <s@x>:\n\n> старое",
    ],
)
def test_the_new_text_above_a_quote_is_kept_and_the_quote_dropped(quote: str) -> None:
    assert strip_quoted(NEW + quote) == "New text."


def test_windows_line_endings_are_understood() -> None:
    reply = "New text.\r\n\r\nOn Tue, Jan 2, 2024, Support wrote:\r\n> old\r\n"
    assert strip_quoted(reply) == "New text."


def test_a_bottom_posted_reply_keeps_the_text_below_the_quote() -> None:
    reply = (
        "On 02/01/2024 10:00, Support wrote:\n> Which order?\n>\n> Support\n\n"
        "Order 5521.\n\n-- \nJane"
    )
    assert strip_quoted(reply) == "Order 5521.\n\n--\nJane"


def test_inline_answers_between_quoted_questions_are_kept() -> None:
    reply = "Support wrote:\n> Which model?\nThe X200.\n> Since when?\nSince Monday."
    assert strip_quoted(reply) == "The X200.\nSince Monday."


def test_a_forwarded_message_is_content_not_a_quote() -> None:
    forward = (
        "Please look at this.\n\n---------- Forwarded message ---------\n"
        "From: Billing <b@shop.example>\nDate: Mon, Jan 1, 2024\nSubject: Invoice\n\nTotal 99 EUR."
    )
    assert strip_quoted(forward) == forward


def test_prose_that_mentions_writing_is_not_a_separator() -> None:
    text = "My colleague wrote:\nthe printer is broken since Monday.\n\nFrom: the 3rd floor"
    assert strip_quoted(text) == text


def test_a_message_that_is_only_a_quote_is_returned_whole_rather_than_empty() -> None:
    only_quote = "> Which order?\n> Support"
    assert strip_quoted(only_quote) == only_quote


def test_text_without_any_quote_is_returned_as_is() -> None:
    assert strip_quoted("  Hello,\n\n  indented code\n") == "  Hello,\n\n  indented code"


def test_outlook_html_is_cut_at_div_rply_fwd_msg() -> None:
    html = '<p>New</p><div id="divRplyFwdMsg"><b>From:</b> Support</div><p>old</p>'
    assert strip_quoted_html(html) == "<p>New</p>"


def test_gmail_html_is_cut_at_gmail_quote() -> None:
    html = (
        '<div dir="ltr">New</div><div class="gmail_quote gmail_quote_container">'
        "On x wrote:<blockquote>old</blockquote></div>"
    )
    assert strip_quoted_html(html) == '<div dir="ltr">New</div>'


def test_thunderbird_bottom_posted_html_keeps_the_text_after_the_quote() -> None:
    html = (
        '<div class="moz-cite-prefix">On x, Support wrote:</div>'
        '<blockquote type="cite">Which <blockquote type="cite">deep</blockquote>'
        " order?</blockquote>"
        "<p>Order 5521.</p>"
    )
    assert strip_quoted_html(html) == "<p>Order 5521.</p>"


def test_html_without_quote_markers_or_with_only_a_quote_is_unchanged() -> None:
    plain = "<p>Hello</p>"
    only_quote = '<div class="gmail_quote"><blockquote>old</blockquote></div>'
    assert strip_quoted_html(plain) == plain
    assert strip_quoted_html(only_quote) == only_quote
