"""A local SMTP server that accepts everything and counts it, for the email and midnight benchmarks
(devtools/management/commands/bench_emails.py, devtools/bench_midnight.py). Run in a process of its own,
so its CPU is not the sender's: `python -m devtools.smtp_sink` prints "port <n>", then answers each "stats"
line on its stdin with "connections=<n> messages=<n> recipients=<n>"; it ends when stdin closes.
`SinkProcess` starts it and asks it from a benchmark.

Imports no Django (aiosmtpd, a dev dependency, only).
"""

import subprocess
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.messages = 0
        self.recipients = 0

    def text(self) -> str:
        with self.lock:
            return f"connections={self.connections} messages={self.messages} recipients={self.recipients}"


class Sink:
    """The handler: accepts every message (its content dropped)."""

    def __init__(self, counts: Counts):
        self.counts = counts

    async def handle_DATA(self, server, session, envelope):
        with self.counts.lock:
            self.counts.messages += 1
            self.counts.recipients += len(envelope.rcpt_tos)
        return "250 OK"


class CountingSMTP(SMTP):
    """One instance per TCP connection: counted when the connection is made."""

    counts: Counts

    def connection_made(self, transport):
        with self.counts.lock:
            self.counts.connections += 1
        super().connection_made(transport)


class CountingController(Controller):
    def __init__(self, counts: Counts, **kwargs):
        self.counts = counts
        super().__init__(Sink(counts), **kwargs)

    def factory(self):
        server = CountingSMTP(self.handler, **self.SMTP_kwargs)
        server.counts = self.counts
        return server


class SinkProcess:
    """This module in a process of its own, from a benchmark: `port`, `stats()`, `stop()`."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devtools.smtp_sink"], cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        first = self.process.stdout.readline().split()
        if first[:1] != ["port"]:
            self.stop()
            raise RuntimeError("The local SMTP server did not start (is aiosmtpd installed?).")
        self.port = int(first[1])

    def stats(self) -> dict[str, int]:
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return {k: int(v) for k, v in (part.split("=") for part in self.process.stdout.readline().split())}

    def stop(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait()


def main() -> None:
    counts = Counts()
    # port=0 is not supported by every aiosmtpd version's readiness check: ask the OS for a free one.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = CountingController(counts, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        print(f"port {port}", flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                print(counts.text(), flush=True)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
