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


FORWARD = (
    "Please look at this.\n\n---------- Forwarded message ---------\n"
    "From: Billing <b@shop.example>\nDate: Mon, Jan 1, 2024\nSubject: Invoice\n\nTotal 99 EUR."
)
PROSE = "My colleague wrote:\nthe printer is broken since Monday.\n\nFrom: the 3rd floor"
ONLY_QUOTE = "> Which order?\n> Support"


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        pytest.param(
            "New text.\r\n\r\nOn Tue, Jan 2, 2024, Support wrote:\r\n> old\r\n",
            "New text.",
            id="windows line endings are understood",
        ),
        pytest.param(
            "On 02/01/2024 10:00, Support wrote:\n> Which order?\n>\n> Support\n\n"
            "Order 5521.\n\n-- \nJane",
            "Order 5521.\n\n--\nJane",
            id="a bottom-posted reply keeps the text below the quote",
        ),
        pytest.param(
            "Support wrote:\n> Which model?\nThe X200.\n> Since when?\nSince Monday.",
            "The X200.\nSince Monday.",
            id="inline answers between quoted questions are kept",
        ),
        pytest.param(FORWARD, FORWARD, id="a forwarded message is content, not a quote"),
        pytest.param(PROSE, PROSE, id="prose that mentions writing is not a separator"),
        pytest.param(
            ONLY_QUOTE,
            ONLY_QUOTE,
            id="a message that is only a quote is returned whole rather than empty",
        ),
        pytest.param(
            "  Hello,\n\n  indented code\n",
            "  Hello,\n\n  indented code",
            id="text without any quote is returned as is",
        ),
    ],
)
def test_a_reply_keeps_what_its_writer_wrote_and_only_that(reply: str, kept: str) -> None:
    assert strip_quoted(reply) == kept


@pytest.mark.parametrize(
    ("html", "kept"),
    [
        pytest.param(
            '<p>New</p><div id="divRplyFwdMsg"><b>From:</b> Support</div><p>old</p>',
            "<p>New</p>",
            id="outlook html is cut at divRplyFwdMsg",
        ),
        pytest.param(
            '<div dir="ltr">New</div><div class="gmail_quote gmail_quote_container">'
            "On x wrote:<blockquote>old</blockquote></div>",
            '<div dir="ltr">New</div>',
            id="gmail html is cut at gmail_quote",
        ),
        pytest.param(
            '<div class="moz-cite-prefix">On x, Support wrote:</div>'
            '<blockquote type="cite">Which <blockquote type="cite">deep</blockquote>'
            " order?</blockquote>"
            "<p>Order 5521.</p>",
            "<p>Order 5521.</p>",
            id="thunderbird bottom-posted html keeps the text after the quote",
        ),
    ],
)
def test_an_html_reply_is_cut_where_its_client_starts_the_quote(html: str, kept: str) -> None:
    assert strip_quoted_html(html) == kept


def test_html_without_quote_markers_or_with_only_a_quote_is_unchanged() -> None:
    plain = "<p>Hello</p>"
    only_quote = '<div class="gmail_quote"><blockquote>old</blockquote></div>'
    assert strip_quoted_html(plain) == plain
    assert strip_quoted_html(only_quote) == only_quote
