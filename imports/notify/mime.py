"""An email's bytes for an SMTP connection, with one MIME build per identical content.

Building and flattening a MIME message (email.mime, email.generator, header encoding) was most of
an email's CPU once rendering was shared: about a millisecond each, for messages that differ only
by their recipients, their Message-ID and the values imports.notify.content stands in (the job's
link, its creator, customer, product, times). So, per sending run, each rendered content
(imports.notify.content.EmailParts.key) is built and flattened once by Django, exactly as its SMTP
backend would (EmailMultiAlternatives.message().as_bytes(linesep="\\r\\n")), with stand-ins for
the To, Date and Message-ID headers; each message is then that template's bytes with its own
values put in (a join of byte strings).

Only where that gives Django's very bytes: ASCII addresses without display names on a To line
short enough not to be folded, a plain ASCII Message-ID, no stand-in in the subject (an encoded
header), values short enough not to push a body line past 998 bytes (Django would then encode the
body quoted-printable), and every stand-in found intact in the flattened template. Any other
message is built by Django on its own (`prepared` returns None), as before.
tests/imports/test_email_mime.py compares the two byte for byte.
"""

import re
from dataclasses import dataclass
from email.utils import formatdate

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address

from imports.notify.content import STAND_INS, EmailParts

TO_STAND_IN = "to-stand-in@stand-in.invalid"
DATE_STAND_IN = "date-stand-in"
MESSAGE_ID_STAND_IN = "<message-id-stand-in@stand-in.invalid>"
_HEADERS = {TO_STAND_IN: "To", DATE_STAND_IN: "Date", MESSAGE_ID_STAND_IN: "Message-ID"}
# A part's Content-Transfer-Encoding is 7bit when its text is ASCII, 8bit otherwise: a stand-in whose
# value is not ASCII is followed by this mark in the template, so that the part is encoded as the
# message's own would be (the mark goes with the stand-in).
NON_ASCII_MARK = "\u00e9"
_PIECES = {
    **{s + NON_ASCII_MARK: s for s in STAND_INS.values()},
    **{s: s for s in [*_HEADERS, *STAND_INS.values()]},
}
_SPLIT = re.compile("(" + "|".join(re.escape(s) for s in _PIECES) + ")")
# The longest header line the generator leaves unfolded (email.policy.compat32's max_line_length).
HEADER_LINE_MAX = 78
# A body line longer than this (RFC 5322's limit) makes Django encode the body quoted-printable
# instead of 8bit; a value put in must not push a line past it.
BODY_LINE_MAX = 998
# Values longer than this are not put into a template (their message is built by Django).
VALUE_MAX = 200


@dataclass(frozen=True)
class Prepared:
    """One message ready for smtplib's sendmail: the envelope and the bytes."""

    from_email: str
    recipients: list[str]
    data: bytes


class _Template:
    """One content's flattened MIME, cut at its stand-ins: literal bytes and stand-ins in turn."""

    def __init__(self, data: bytes):
        self.pieces = [
            _PIECES[piece] if index % 2 else piece.encode("utf-8", "surrogateescape")
            for index, piece in enumerate(_SPLIT.split(data.decode("utf-8", "surrogateescape")))
        ]

    def fill(self, values: dict[str, bytes]) -> bytes:
        return b"".join(values[piece] if isinstance(piece, str) else piece for piece in self.pieces)


def _longest_line(text: str) -> int:
    """The longest line of `text` in bytes once every stand-in holds a value of VALUE_MAX bytes."""
    longest = 0
    for line in text.splitlines():
        grown = len(line.encode()) + sum(line.count(s) * (VALUE_MAX - len(s)) for s in STAND_INS.values())
        longest = max(longest, grown)
    return longest


def _template(parts: EmailParts, from_email: str, non_ascii: frozenset[str]) -> _Template | None:
    """`parts`' one MIME build, or None when its stand-ins cannot simply be replaced in the bytes:
    one in the subject (an encoded header), a body line a value could push past BODY_LINE_MAX, or
    a stand-in the encoding cut or changed."""
    if any(s in parts.subject for s in STAND_INS.values()):
        return None
    if max(_longest_line(parts.text), _longest_line(parts.html)) > BODY_LINE_MAX:
        return None
    text, html = parts.text, parts.html
    for stand_in in non_ascii:
        text, html = text.replace(stand_in, stand_in + NON_ASCII_MARK), html.replace(stand_in, stand_in + NON_ASCII_MARK)
    message = EmailMultiAlternatives(
        subject=parts.subject, body=text, from_email=from_email, to=[TO_STAND_IN],
        # In the order Django writes them itself: To, then Date, then Message-ID.
        headers={"Date": DATE_STAND_IN, "Message-ID": MESSAGE_ID_STAND_IN},
    )
    message.attach_alternative(html, "text/html")
    template = _Template(message.message().as_bytes(linesep="\r\n"))
    body = parts.text + parts.html
    expected = {**{s: 1 for s in _HEADERS}, **{s: body.count(s) for s in STAND_INS.values()}}
    found = {s: template.pieces.count(s) for s in expected}
    return template if found == expected else None


def _plain(value: str) -> bool:
    return value.isascii() and not any(c in value for c in "\r\n\"(),:;<>[]\\ ")


def prepared(parts: EmailParts, *, message_id: str, cache: dict) -> Prepared | None:
    """The message of `parts` as SMTP bytes from its content's one MIME build (kept in `cache`,
    one sending run's), or None when Django must build this one on its own (see the module)."""
    from_email = settings.DEFAULT_FROM_EMAIL
    to_line = ", ".join(parts.recipients)
    if (
        not all(_plain(address) and address.count("@") == 1 for address in parts.recipients)
        or len("To: " + to_line) > HEADER_LINE_MAX
        or not message_id
        or not _plain(message_id.strip("<>"))
        or any(len(value.encode()) > VALUE_MAX for _, value in parts.fields)
    ):
        return None
    stood_in = tuple(stand_in for stand_in, _ in parts.fields)
    non_ascii = frozenset(stand_in for stand_in, value in parts.fields if not value.isascii())
    key = ("mime", from_email, parts.key, stood_in, non_ascii)
    if key not in cache:
        cache[key] = _template(parts, from_email, non_ascii)
    template = cache[key]
    if template is None:
        return None
    envelope = ("envelope", from_email)
    if envelope not in cache:
        cache[envelope] = sanitize_address(from_email, settings.DEFAULT_CHARSET)
    values = {stand_in: value.encode() for stand_in, value in parts.fields}
    values[TO_STAND_IN] = to_line.encode()
    values[DATE_STAND_IN] = formatdate(localtime=settings.EMAIL_USE_LOCALTIME).encode()
    # A header line longer than HEADER_LINE_MAX, with nowhere to fold it, is written on a line of
    # its own after "Message-ID: " (compat32's folding; the ids here are that long).
    folded = len("Message-ID: " + message_id) > HEADER_LINE_MAX
    values[MESSAGE_ID_STAND_IN] = (("\r\n " if folded else "") + message_id).encode()
    return Prepared(from_email=cache[envelope], recipients=list(parts.recipients), data=template.fill(values))
