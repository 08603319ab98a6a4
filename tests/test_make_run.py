"""`make run` as a developer or a script runs it: it serves (the portal and the Partner Center sandbox), and a
stop leaves no process behind.

Stopped within 10 s both ways: Ctrl-C (SIGINT to the terminal's foreground process group) and
SIGTERM to make alone (what a script or a supervisor sends). On a database file of its own.
"""

import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.processes import alive, descendants, wait_for

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_LIMIT_SECONDS = 10

pytestmark = pytest.mark.once  # its own SQLite file whatever DATABASE_URL says


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm-to-make"])
def test_make_run_serves_and_stops_leaving_no_process_behind(tmp_path, stop):
    port, sandbox_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "REDIS_URL", "MAKE", "SANDBOX_", "MICROSOFT_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "SANDBOX_PORT": str(sandbox_port),
        "SANDBOX_DB": str(tmp_path / "sandbox.sqlite3"),
        "Q_CLUSTER_NAME": f"maketest{port}",
        "LOG_LEVEL": "WARNING",
    }
    with open(tmp_path / "make.log", "wb") as log:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}"], cwd=BASE_DIR, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,  # a "terminal" of its own: its group is make's pid
        )
    pids: set[int] = set()
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/login/"), seconds=240, what="make run to serve")
        wait_for(lambda: answers(f"http://127.0.0.1:{sandbox_port}/_sandbox/health"), seconds=30, what="the sandbox")
        # The worker's cluster has started too (qcluster + sentinel + pusher + monitor + 1 worker), beside the sandbox.
        wait_for(lambda: len(descendants(make.pid)) >= 9, seconds=60, what="the worker's processes")
        pids = descendants(make.pid) | {make.pid}
        if stop == "ctrl-c":
            os.killpg(make.pid, signal.SIGINT)
        else:
            make.send_signal(signal.SIGTERM)
        make.wait(timeout=STOP_LIMIT_SECONDS)
        wait_for(lambda: not alive(pids), seconds=1, what=f"every process to be gone: {alive(pids)}")
        assert not answers(f"http://127.0.0.1:{port}/login/")
        assert not answers(f"http://127.0.0.1:{sandbox_port}/_sandbox/health")
    finally:
        for pid in alive(pids | descendants(make.pid)):
            os.kill(pid, signal.SIGKILL)
        make.wait(timeout=10)
    assert "Stopping..." in (tmp_path / "make.log").read_text()
