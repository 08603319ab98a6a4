"""Whole numbers typed by people or sent in addresses: ids, page numbers, counts.

The one way to read them: only ASCII digits ("²".isdigit() is True but int("²") fails), and the
length is checked before int() so a 100,000-digit "number" costs nothing (Python refuses to
convert more than 4,300 digits anyway). Anything else is None: never a 500.
"""

# What a bigint / PositiveBigIntegerField column can hold: a larger id cannot exist.
MAX_STORED_ID = 2**63 - 1


def parse_whole(text, *, maximum: int = MAX_STORED_ID) -> int | None:
    """`text` as an integer from 0 to `maximum`, or None when it is not exactly that."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None
