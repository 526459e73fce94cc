"""Sanitising inbound HTML for agents and turning it into text."""

from __future__ import annotations

from helpdesk.mail.html import html_to_text, sanitize_html


def test_scripts_styles_and_event_handlers_are_removed_with_their_content() -> None:
    dirty = (
        "<style>body{display:none}</style><script>steal()</script>"
        '<p onclick="steal()" style="position:fixed">Hello</p><iframe src="https://x"></iframe>'
    )
    clean = sanitize_html(dirty)
    assert clean == "<p>Hello</p>"


def test_images_may_point_at_cid_parts_and_https_only() -> None:
    clean = sanitize_html(
        '<img src="cid:logo@x"><img src="https://cdn.example/a.png">'
        '<img src="http://tracker.example/p.gif"><img src="data:image/svg+xml;base64,PHN2Zz4=">'
    )
    assert 'src="cid:logo@x"' in clean
    assert 'src="https://cdn.example/a.png"' in clean
    assert "tracker.example" not in clean
    assert "data:" not in clean


def test_links_keep_safe_schemes_and_get_noopener() -> None:
    clean = sanitize_html(
        '<a href="https://shop.example">shop</a><a href="javascript:alert(1)">x</a>'
        '<a href="mailto:a@b.example">mail</a>'
    )
    assert '<a href="https://shop.example" rel="noopener noreferrer">shop</a>' in clean
    assert "javascript" not in clean
    assert 'href="mailto:a@b.example"' in clean


def test_a_whole_document_keeps_only_its_body_content() -> None:
    clean = sanitize_html(
        "<html><head><title>Secret title</title></head><body><b>Hi</b></body></html>"
    )
    assert clean == "<b>Hi</b>"


def test_text_has_entities_decoded_and_no_script_or_style_content() -> None:
    text = html_to_text(
        "<html><head><style>p{color:red}</style><script>var x = 1;</script></head>"
        "<body><p>Tom &amp; Jerry &eacute; &#8364;</p></body></html>"
    )
    assert text == "Tom & Jerry é €"


def test_text_has_no_runs_of_blank_lines() -> None:
    text = html_to_text("<p>one</p><br><br><br><br><div>&nbsp;</div><br><p>two</p>")
    assert "\n\n\n" not in text
    assert text.startswith("one") and text.endswith("two")


def test_tables_become_readable_rows() -> None:
    text = html_to_text(
        "<table><tr><td>Order</td><td>5521</td></tr><tr><td>Total</td><td>9 €</td></tr></table>"
    )
    assert "Order" in text and "5521" in text
    assert text.index("Order") < text.index("Total")


def test_broken_or_empty_html_still_gives_text() -> None:
    assert html_to_text("") == ""
    assert html_to_text("   ") == ""
    assert html_to_text("\x00<p>NUL\x00 inside</p>") == "NUL inside"
    assert "unclosed" in html_to_text("<div><p>unclosed <b>tags")
