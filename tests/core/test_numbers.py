"""core.numbers: the one way ids, page numbers and counts typed by people are read."""

import pytest

from core.numbers import MAX_STORED_ID, parse_whole


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0", 0),
        ("466158", 466158),
        ("007", 7),
        (str(MAX_STORED_ID), MAX_STORED_ID),
        (str(MAX_STORED_ID + 1), None),  # cannot be stored, so cannot exist
        ("9" * 100_000, None),  # refused by its length, before int() (which refuses 4,300+ digits)
        ("²", None),  # "²".isdigit() is True, int("²") fails
        ("٣", None),  # Arabic-Indic digit: isdigit, not ASCII
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("", None),
        (None, None),
        (12, None),  # not text
    ],
)
def test_parse_whole(text, expected):
    assert parse_whole(text) == expected


def test_parse_whole_with_a_smaller_maximum():
    assert parse_whole("999", maximum=999) == 999
    assert parse_whole("1000", maximum=999) is None
    assert parse_whole("0999", maximum=999) is None  # longer than the maximum's digits
