"""Real processes for the worker tests: start `manage.py imports_worker` / `qcluster`, find every
process they started, signal them as an operator or a supervisor would, and check that none is
left. Every wait is a wait for a condition with a deadline, never a sleep hoped to be long enough."""

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.conf import settings

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


def wait_for(condition, *, seconds: float, what: str, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {seconds} s waiting for {what}.")
        time.sleep(interval)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def children(pid: int) -> list[int]:
    """The live processes whose parent is `pid`."""
    return sorted(
        int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and (st := _stat(int(e.name))) and st[1] == pid
    )


def with_environment(**wanted: str) -> set[int]:
    """Every live process whose environment holds all of `wanted` (name=value), wherever it sits in the
    process tree: a cluster's processes whose parent was killed are re-parented to init, out of any tree,
    and a fork made while a tree was being killed was not in it."""
    needles = {f"{name}={value}".encode() for name, value in wanted.items()}
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if needles <= environ:
            found.add(int(entry.name))
    return found


def kill_with_environment(**wanted: str) -> None:
    """SIGKILL every process with that environment, again until none is left (one forked meanwhile has it
    too); a few rounds at most."""
    for _ in range(10):
        pids = with_environment(**wanted)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            children.setdefault(stat[1], []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids) -> set[int]:
    """The pids still running (a zombie has finished; it only waits for its parent to reap it)."""
    return {pid for pid in pids if (stat := _stat(pid)) and stat[0] != "Z"}


class Started:
    """A started command in a session of its own (so that its process group can be signalled)."""

    def __init__(self, args: list[str], *, env: dict, log: Path):
        self.log_path = log
        self._log = open(log, "ab")
        self.process = subprocess.Popen(
            args, env=env, cwd=settings.BASE_DIR, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid = self.process.pid

    @classmethod
    def manage(cls, *args: str, env: dict, log: Path, prefix: tuple[str, ...] | list[str] = ()) -> "Started":
        """`manage.py *args` with this interpreter; `prefix` runs it under a wrapper (e.g.
        `("faketime", "-f", "+300s")`: a machine whose clock is 5 minutes fast)."""
        return cls([*prefix, sys.executable, MANAGE, *args], env=env, log=log)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tree(self) -> set[int]:
        return {self.pid} | descendants(self.pid)

    def wait_until_running(self, *, workers: int, seconds: float = 60) -> set[int]:
        """Until the cluster reports itself running with its workers; returns every pid of the tree."""
        wait_for(lambda: "running." in self.log(), seconds=seconds, what=f"the cluster to start ({self.log_path})")
        # qcluster + sentinel + pusher + monitor + workers (+ the imports_worker parent when present)
        def complete():
            tree = self.tree()
            return tree if len(tree) >= workers + 4 else None

        return wait_for(complete, seconds=seconds, what="its processes")

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def signal_group(self, signum: int) -> None:
        os.killpg(self.pid, signum)

    def exited_within(self, seconds: float) -> float | None:
        """Seconds the process took to exit, or None if it was still running after `seconds`."""
        started = time.monotonic()
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - started

    def kill_everything(self, pids=()) -> None:
        """Clean-up after a test, whatever it left: SIGKILL the tree and the groups."""
        for pid in alive(set(pids) | self.tree()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


class HangingReceiver:
    """A webhook receiver on 127.0.0.1 that holds every request without answering for up to
    `hang_seconds` (30 s: the receiver measured in issue 22) while `hanging` is set, and answers
    200 at once otherwise. Keeps when each request arrived and how many are being held."""

    def __init__(self, hang_seconds: float = 30):
        self.hanging = threading.Event()
        self.hanging.set()
        self.released = threading.Event()
        self.arrived: list[float] = []
        self.held = 0
        self.most_held = 0
        self.answered = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    receiver.arrived.append(time.monotonic())
                if receiver.hanging.is_set():
                    with lock:
                        receiver.held += 1
                        receiver.most_held = max(receiver.most_held, receiver.held)
                    receiver.released.wait(hang_seconds)
                    with lock:
                        receiver.held -= 1
                    return  # no answer: the sender has given up by now
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    with lock:
                        receiver.answered += 1
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/icp"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def recover(self):
        self.hanging.clear()
        self.released.set()

    def close(self):
        self.recover()
        self.server.shutdown()
        self.server.server_close()
