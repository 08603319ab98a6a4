"""One message over an SMTP connection with its envelope pipelined (imports.notify.smtp): the server is
told exactly what smtplib's sendmail tells it, in two writes instead of one a command, and a refusal
raises what sendmail raises and leaves the connection as sendmail leaves it."""

import datetime as dt
import re
import smtplib
import socketserver
import threading

import pytest
from freezegun import freeze_time

from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob, ImportRow, Notification
from imports.notify import content, smtp
from imports.notify.send import emails_send

from .helpers import BASIC, schedule

FROM = "ICP <noreply@icp.example>"


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, pipelining: bool):
        super().__init__(("127.0.0.1", 0), Handler)
        self.pipelining = pipelining
        self.commands: list[str] = []  # every command line, in order
        self.messages: list[tuple[str, list[str], bytes]] = []  # (sender, recipients, data) accepted
        self.refuse_sender: dict[str, str] = {}  # address -> reply
        self.refuse_recipient: dict[str, str] = {}
        self.refuse_data: str = ""  # a reply to the final "." instead of 250
        self.refuse_data_command: str = ""  # a reply to DATA itself instead of 354
        self.accept_data_without_recipients = False
        self.offers_size = True
        self.closes_after_421 = True  # a server that says 421 and keeps the connection open: the client closes it


class Handler(socketserver.StreamRequestHandler):
    """Reads a command line at a time and answers it at once, so pipelined commands are answered in turn."""

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        server: Server = self.server
        self.reply("220 test ESMTP")
        sender, recipients = None, []
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            server.commands.append(command)
            verb = command[:4].upper()
            if verb == "EHLO":
                lines = ["test", *(["PIPELINING"] if server.pipelining else []), *(["SIZE 100000"] if server.offers_size else [])]
                self.reply("\r\n".join(f"250{'-' if i < len(lines) - 1 else ' '}{line}" for i, line in enumerate(lines)))
            elif verb == "MAIL":
                address = command.split(":", 1)[1].split(">")[0].lstrip("<")
                sender, recipients = address, []
                refusal = server.refuse_sender.get(address)
                self.reply(refusal or "250 OK")
                if refusal:
                    sender = None
                if refusal and refusal.startswith("421") and server.closes_after_421:
                    return
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip("<>")
                refusal = server.refuse_recipient.get(address)
                if refusal is None and sender is not None:
                    recipients.append(address)
                self.reply(refusal or ("250 OK" if sender is not None else "503 need MAIL"))
                if refusal and refusal.startswith("421") and server.closes_after_421:
                    return
            elif verb == "DATA":
                if server.refuse_data_command:
                    self.reply(server.refuse_data_command)
                    sender, recipients = None, []
                    continue
                if not recipients and not server.accept_data_without_recipients:
                    self.reply("554 no valid recipients")
                    continue
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                if server.refuse_data:
                    self.reply(server.refuse_data)
                elif recipients:
                    server.messages.append((sender, recipients, data))
                    self.reply("250 queued")
                else:
                    self.reply("554 no valid recipients")
                sender, recipients = None, []
            elif verb == "RSET":
                sender, recipients = None, []
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture(params=[True, False], ids=["pipelining", "no pipelining"])
def server(request):
    server = Server(pipelining=request.param)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def connection(server):
    connection = smtplib.SMTP("127.0.0.1", server.server_address[1], timeout=5)
    connection.ehlo()
    yield connection
    try:
        connection.quit()
    except smtplib.SMTPServerDisconnected:
        pass


class CountingSends:
    """Counts the writes a connection makes (smtplib's send: one a command without pipelining)."""

    def __init__(self, connection):
        self.count = 0
        self.original = connection.send
        connection.send = self

    def __call__(self, data):
        self.count += 1
        return self.original(data)


DATA = b"Subject: hi\r\n\r\nline one\r\n.starts with a period\r\nlast\r\n"


def test_the_server_is_told_what_sendmail_tells_it_in_two_writes_when_it_pipelines(server, connection):
    sends = CountingSends(connection)
    assert smtp.send(connection, FROM, ["a@example.com", "b@example.com"], DATA) == {}
    assert server.messages == [("noreply@icp.example", ["a@example.com", "b@example.com"], DATA)]
    # What smtplib's sendmail writes, to the byte.
    assert server.commands[1:] == [
        f"mail FROM:<noreply@icp.example> size={len(DATA)}", "rcpt TO:<a@example.com>", "rcpt TO:<b@example.com>", "data",
    ]
    # Pipelined: the envelope and DATA in one write, the message in another; smtplib: one a command.
    assert sends.count == (2 if server.pipelining else 5)


def test_a_message_without_a_final_line_break_gets_one(server, connection):
    smtp.send(connection, FROM, ["a@example.com"], b"Subject: hi\r\n\r\nno line break")
    assert server.messages[0][2] == b"Subject: hi\r\n\r\nno line break\r\n"


def test_a_refused_sender_raises_and_the_connection_sends_the_next_message(server, connection):
    server.refuse_sender["noreply@icp.example"] = "550 not you"
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp.send(connection, FROM, ["a@example.com"], DATA)
    assert (refused.value.smtp_code, refused.value.smtp_error, refused.value.sender) == (550, b"not you", FROM)
    server.refuse_sender.clear()
    smtp.send(connection, FROM, ["b@example.com"], DATA)
    assert [recipients for _, recipients, _ in server.messages] == [["b@example.com"]]


def test_a_refused_recipient_among_others_is_returned_and_the_others_get_the_message(server, connection):
    server.refuse_recipient["a@example.com"] = "550 no such user"
    refused = smtp.send(connection, FROM, ["a@example.com", "b@example.com"], DATA)
    assert refused == {"a@example.com": (550, b"no such user")}
    assert [recipients for _, recipients, _ in server.messages] == [["b@example.com"]]


@pytest.mark.parametrize("takes_data", [False, True], ids=["DATA refused", "DATA taken"])
def test_every_recipient_refused_raises_and_nothing_is_sent(server, connection, takes_data):
    server.accept_data_without_recipients = takes_data
    server.refuse_recipient["a@example.com"] = "550 no such user"
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.send(connection, FROM, ["a@example.com"], DATA)
    assert refused.value.recipients == {"a@example.com": (550, b"no such user")}
    assert server.messages == []
    # The connection is usable: a DATA the server took was ended with nothing in it.
    server.refuse_recipient.clear()
    smtp.send(connection, FROM, ["b@example.com"], DATA)
    assert [recipients for _, recipients, _ in server.messages] == [["b@example.com"]]


def test_a_refused_message_raises_a_data_error(server, connection):
    server.refuse_data = "552 too big"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtp.send(connection, FROM, ["a@example.com"], DATA)
    assert (refused.value.smtp_code, refused.value.smtp_error) == (552, b"too big")
    server.refuse_data = ""
    smtp.send(connection, FROM, ["a@example.com"], DATA)
    assert len(server.messages) == 1


@pytest.mark.parametrize("where", ["sender", "recipient"])
def test_a_server_closing_with_421_closes_the_connection(server, connection, where):
    if where == "sender":
        server.refuse_sender["noreply@icp.example"] = "421 closing"
        expected = smtplib.SMTPSenderRefused
    else:
        server.refuse_recipient["a@example.com"] = "421 closing"
        expected = smtplib.SMTPRecipientsRefused
    with pytest.raises(expected):
        smtp.send(connection, FROM, ["a@example.com", "b@example.com"], DATA)
    assert connection.sock is None  # closed, as sendmail closes it
    assert server.messages == []


# --- The outbox's emails through it ------------------------------------------------------------------

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=dt.timezone.utc)
BOUNDARY = re.compile(rb"===============\d+==")


def _mixed_jobs(demo) -> list[ImportJob]:
    """A provisioning run that succeeds, one that fails (its reason in the email), a bulk import with
    a failed line (its file's line before the reason), all finished at DUE."""
    jobs = [schedule(demo, due_at=DUE) for _ in range(2)]
    failed = schedule(demo, due_at=DUE, code=BASIC, vendor_config={"microsoft_tenant_id": "nope", "mpn_id": "x"})
    bulk = ImportJob.objects.create(
        name="july.csv", source=ImportJob.Source.IMPORT, status=ImportJob.Status.PENDING, due_at=DUE,
        created_by=demo.admin_abbie, company=demo.eritech,
    )
    ImportRow.objects.create(job=bulk, position=7, parent_company=demo.eritech, payload={"product_code": "nope"},
                             import_type=ImportRow.ImportType.PRODUCT)
    return [*jobs, failed, bulk]


def test_the_outbox_sends_over_smtp_the_bytes_django_builds_for_each_fully_loaded_job(demo, server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.server_address[1]
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    with freeze_time(DUE):
        content.my_imports_url()
        _mixed_jobs(demo)
        dispatch_due_imports(now=DUE)
        notifications = list(Notification.objects.order_by("id"))
        assert emails_send(now=DUE) == len(notifications) == 4
    # Built by Django from the jobs read whole, as the page and the admin read them.
    expected = []
    for notification in notifications:
        job = ImportJob.objects.select_related("created_by__company", "company").get(pk=notification.job_id)
        rows = list(ImportRow.objects.filter(job=job).select_related("order__service").order_by("position"))
        parts = content.email_parts(notification, job, rows, now=DUE)
        message = content.email_message(parts, message_id=notification.message_id)
        expected.append(BOUNDARY.sub(b"B", message.message().as_bytes(linesep="\r\n")))
    # The Date header is the sending's; the rest is byte for byte.
    got = [re.sub(rb"Date: [^\r]+", b"Date: D", BOUNDARY.sub(b"B", data)) for _, _, data in server.messages]
    assert sorted(got) == sorted(re.sub(rb"Date: [^\r]+", b"Date: D", data) for data in expected)
    assert any(b"Line 7: " in data for data in got) and any(b"failed" in data.lower() for data in got)


def test_size_is_given_only_when_the_server_offers_it(server, connection):
    server.offers_size = False
    connection.ehlo()
    smtp.send(connection, FROM, ["a@example.com"], DATA)
    assert [c for c in server.commands if c.startswith("mail")][-1] == "mail FROM:<noreply@icp.example>"


def test_data_itself_refused_raises_a_data_error_and_the_connection_goes_on(server, connection):
    server.refuse_data_command = "451 try later"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtp.send(connection, FROM, ["a@example.com"], DATA)
    assert (refused.value.smtp_code, refused.value.smtp_error) == (451, b"try later")
    server.refuse_data_command = ""
    smtp.send(connection, FROM, ["b@example.com"], DATA)
    assert [recipients for _, recipients, _ in server.messages] == [["b@example.com"]]


@pytest.mark.parametrize("where", ["sender", "first recipient", "second recipient", "DATA", "the message"])
def test_a_421_closes_the_connection_even_when_the_server_does_not(server, connection, where):
    server.closes_after_421 = False
    if where == "sender":
        server.refuse_sender["noreply@icp.example"] = "421 closing"
    elif where == "DATA":
        server.refuse_data_command = "421 closing"
    elif where == "the message":
        server.refuse_data = "421 closing"
    else:
        server.refuse_recipient["a@example.com" if where == "first recipient" else "b@example.com"] = "421 closing"
    expected = {"sender": smtplib.SMTPSenderRefused, "DATA": smtplib.SMTPDataError,
                "the message": smtplib.SMTPDataError}.get(where, smtplib.SMTPRecipientsRefused)
    with pytest.raises(expected) as refused:
        smtp.send(connection, FROM, ["a@example.com", "b@example.com"], DATA)
    if expected is smtplib.SMTPRecipientsRefused:
        assert 421 in [code for code, _ in refused.value.recipients.values()]
    else:
        assert refused.value.smtp_code == 421
    assert server.messages == []
    # smtplib's own data() raises at a refused DATA before its sendmail looks for a 421, so without PIPELINING
    # that connection stays open (imports.notify.send drops every connection after a failure anyway).
    assert connection.sock is None or (where == "DATA" and not server.pipelining)
