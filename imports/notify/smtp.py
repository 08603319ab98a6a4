"""One message over an open smtplib connection, its envelope pipelined when the server allows.

smtplib's sendmail writes MAIL FROM, each RCPT TO and DATA one at a time and waits for each reply:
four or more round trips before the message's bytes even start. Senders working off a burst's
backlog spent most of their time waiting on those (measured: with the database work of a chunk
made cheaper, four senders kept the two cores of the benchmark machine only about 80 % busy).
Mail servers offer PIPELINING (RFC 2920: Postfix, Exim, Amazon SES and the big providers do) so
that a client may send the envelope and DATA in one write and read their replies together: two
round trips a message. Where a server does not offer it, this is smtplib's sendmail.

Nothing changes in what the server is told or what counts as accepted: the same commands with the
same arguments (SIZE when offered), the same refusals raised as smtplib's own exceptions
(SMTPSenderRefused, SMTPRecipientsRefused when every recipient is refused, SMTPDataError), the
connection reset after a refusal (closed after a 421, at DATA too, where sendmail misses it), and some recipients refused is still a
message sent to the others, as sendmail returns it.

The recipients must be plain addresses, as imports.notify.mime.prepared lets through only: for
them "<address>" is what smtplib's quoteaddr writes (parsing each one was a tenth of a message's
CPU). The sender's address may be any, quoted once.
"""

import re
import smtplib
from functools import lru_cache

# The replies smtplib's sendmail accepts for a recipient.
RECIPIENT_OK = (250, 251)
SERVER_CLOSING = 421
_LEADING_PERIOD = re.compile(rb"(?m)^\.")
_quoted = lru_cache(maxsize=64)(smtplib.quoteaddr)  # the sender's address: one or two a process


def _refused(connection: smtplib.SMTP, *codes: int) -> None:
    """What sendmail does to a connection after a refusal: closed if the server said it is closing
    (421), else reset for the next message."""
    if SERVER_CLOSING in codes:
        connection.close()
        return
    try:
        connection.rset()
    except smtplib.SMTPServerDisconnected:
        pass


def send(connection: smtplib.SMTP, from_address: str, recipients: list[str], data: bytes) -> dict:
    """Send `data` from `from_address` (as SMTP writes it, "<...>" or an address) to `recipients`;
    returns the recipients the server refused (code and reply), as sendmail does, and raises as it
    does when the message was not accepted."""
    connection.ehlo_or_helo_if_needed()
    if not (connection.does_esmtp and connection.has_extn("pipelining")):
        return connection.sendmail(from_address, recipients, data)
    # Written as smtplib writes them (putcmd: lower-case verbs, "size=" when offered).
    options = f" size={len(data)}" if connection.has_extn("size") else ""
    commands = [f"mail FROM:{_quoted(from_address)}{options}"]
    commands += [f"rcpt TO:<{recipient}>" for recipient in recipients]
    commands.append("data")
    connection.send("".join(f"{command}\r\n" for command in commands))
    # Every reply is read, in order, whatever the first ones say: they are on their way already; up to
    # a 421, after which the server closes the connection (sendmail stops there too). The last one read
    # is DATA's, or that 421.
    replies = []
    while len(replies) < len(recipients) + 2 and (not replies or replies[-1][0] != SERVER_CLOSING):
        replies.append(connection.getreply())
    (mail_code, mail_reply), (data_code, data_reply) = replies[0], replies[-1]
    refused = {r: reply for r, reply in zip(recipients, replies[1:len(recipients) + 1]) if reply[0] not in RECIPIENT_OK}
    # sendmail gives up on a message whose sender is refused, whose every recipient is refused, or at a
    # recipient's 421.
    codes = [code for code, _ in refused.values()]
    recipients_failed = bool(refused) and (len(refused) == len(recipients) or SERVER_CLOSING in codes)
    if data_code == 354 and (mail_code != 250 or recipients_failed):
        # The server took DATA although the envelope failed: RFC 2920 says end it with nothing in it.
        connection.send(b".\r\n")
        connection.getreply()
    if mail_code != 250:
        _refused(connection, mail_code)
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, from_address)
    if recipients_failed:
        _refused(connection, *codes)
        raise smtplib.SMTPRecipientsRefused(refused)
    if data_code != 354:
        _refused(connection, data_code)
        raise smtplib.SMTPDataError(data_code, data_reply)
    # The message, its lines starting with "." doubled, then the final "." (as smtplib's data()).
    body = _LEADING_PERIOD.sub(b"..", data)
    if body[-2:] != b"\r\n":
        body += b"\r\n"
    connection.send(body + b".\r\n")
    code, reply = connection.getreply()
    if code != 250:
        _refused(connection, code)
        raise smtplib.SMTPDataError(code, reply)
    return refused
