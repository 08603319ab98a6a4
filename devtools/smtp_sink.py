"""A local SMTP server that accepts everything and counts it, for the email benchmarks
(devtools/management/commands/bench_emails.py, the engine's on PostgreSQL: bench_dispatch, and
devtools/bench_midnight.py; `SinkProcess` starts it and asks it from a benchmark). Run
in a process of its own, so its CPU is not the sender's: `python -m devtools.smtp_sink` prints
"port <n>", then answers each "stats" line on its stdin with "connections=<n> messages=<n>
recipients=<n> cpu_ms=<n>" (cpu_ms: its own CPU time, the server's share of what a message costs
the machine); it ends when stdin closes.

It stands in for the mail server, which in production runs on another machine: so it does the
least an SMTP server must (the commands smtplib sends, each answered; a message accepted once its
data's final "." arrived; PIPELINING offered, as mail servers offer it, so commands that arrive
together are answered together) with a plain asyncio protocol, about 0.3 ms of CPU a message on a kept connection. (aiosmtpd,
used before, took 0.9 ms a message: on this 2-core machine, where the benchmark's workers, database
and mail server share the cores, the stand-in was costing as much CPU as the sender it measured.)

Imports no Django; standard library only.
"""

import asyncio
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

END_OF_DATA = b"\r\n.\r\n"


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.messages = 0
        self.recipients = 0

    def text(self) -> str:
        with self.lock:
            return (
                f"connections={self.connections} messages={self.messages} recipients={self.recipients}"
                f" cpu_ms={round(time.process_time() * 1000)}"
            )


class SinkProtocol(asyncio.Protocol):
    """One TCP connection: commands line by line, then a message's data up to its final "."."""

    def __init__(self, counts: Counts):
        self.counts = counts
        self.buffer = b""
        self.in_data = False
        self.searched = 0  # how far into the data END_OF_DATA was already looked for
        self.recipients = 0
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        with self.counts.lock:
            self.counts.connections += 1
        transport.write(b"220 sink ESMTP ready\r\n")

    def data_received(self, data: bytes):
        self.buffer += data
        replies = []
        while True:
            if self.in_data:
                if self.buffer.startswith(b".\r\n"):  # an empty message
                    end, skip = 0, 3
                else:
                    end = self.buffer.find(END_OF_DATA, max(self.searched - len(END_OF_DATA), 0))
                    skip = len(END_OF_DATA)
                if end < 0:
                    self.searched = len(self.buffer)
                    break
                self.buffer = self.buffer[end + skip:]
                self.in_data, self.searched = False, 0
                with self.counts.lock:
                    self.counts.messages += 1
                    self.counts.recipients += self.recipients
                replies.append(b"250 OK\r\n")
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                break
            line, self.buffer = self.buffer[:line_end], self.buffer[line_end + 2:]
            verb = line[:4].upper()
            if verb == b"EHLO":
                replies.append(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 0\r\n")
            elif verb == b"MAIL":
                self.recipients = 0
                replies.append(b"250 OK\r\n")
            elif verb == b"RCPT":
                self.recipients += 1
                replies.append(b"250 OK\r\n")
            elif verb == b"DATA":
                self.in_data = True
                replies.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                replies.append(b"221 Bye\r\n")
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
            elif verb in (b"HELO", b"RSET", b"NOOP"):
                replies.append(b"250 OK\r\n")
            else:
                replies.append(b"502 Command not implemented\r\n")
        if replies:
            self.transport.write(b"".join(replies))


def _serve(counts: Counts, sock: socket.socket, ready: threading.Event) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def serve():
        server = await loop.create_server(lambda: SinkProtocol(counts), sock=sock)
        ready.set()
        async with server:
            await server.serve_forever()

    loop.run_until_complete(serve())


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
            raise RuntimeError("The local SMTP server did not start.")
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
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    ready = threading.Event()
    threading.Thread(target=_serve, args=(counts, sock, ready), daemon=True).start()
    ready.wait(10)
    print(f"port {sock.getsockname()[1]}", flush=True)
    for line in sys.stdin:
        if line.strip() == "stats":
            print(counts.text(), flush=True)


if __name__ == "__main__":
    main()
