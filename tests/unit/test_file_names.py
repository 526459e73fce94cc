"""A file's name as the desk keeps and shows it (helpdesk.files.clean_filename), whichever
way the file came: mail, the customer's page, a channel."""

from __future__ import annotations

import pytest

from helpdesk.files import MAX_FILENAME_CHARS, clean_filename


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # the right-to-left override goes
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\anna\\receipt.pdf", "receipt.pdf"),
        ("  .hidden.txt. ", "hidden.txt"),
        ("", "file"),
    ],
)
def test_a_file_name_is_kept_as_it_reads_without_paths_or_controls(sent: str, kept: str) -> None:
    assert clean_filename(sent, fallback="file") == kept


def test_a_long_name_cut_to_size_does_not_end_in_a_dot() -> None:
    # Re-attack 3, N5: the cut could leave "…exe." (Windows drops the dot, and the name
    # then reads as an executable).
    sent = "a" * (MAX_FILENAME_CHARS - 1) + ".exe" + "b" * 20
    kept = clean_filename(sent, fallback="file")
    assert len(kept) <= MAX_FILENAME_CHARS
    assert not kept.endswith((".", " "))
