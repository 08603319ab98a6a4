"""`python -m sandbox [--host 127.0.0.1] [--port 8001]` (SANDBOX_HOST, SANDBOX_PORT; every other setting in
sandbox/config.py). Stops cleanly on SIGTERM and SIGINT: no new connection is accepted, the store is closed."""

import argparse
import logging
import os
import signal
import sys
import threading

from .config import Config
from .faults import FaultError
from .seed import SeedError
from .server import make_server


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Partner Center sandbox")
    parser.add_argument("--host", default=None, help="address to listen on (SANDBOX_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (SANDBOX_PORT, default 8001)")
    parser.add_argument("--db", default=None, help='SQLite file (SANDBOX_DB, default sandbox.sqlite3; ":memory:")')
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("SANDBOX_LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s sandbox %(levelname)s %(message)s")
    try:
        overrides = {k: v for k, v in {"host": args.host, "port": args.port, "db_path": args.db}.items() if v is not None}
        config = Config.from_env(**overrides)
    except (FaultError, ValueError) as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    try:
        server, sandbox = make_server(config)
    except SeedError as error:
        print(f"sandbox: {error} (SANDBOX_SEED; empty loads no seed)", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"sandbox: cannot listen on {config.host}:{config.port}: {error.strerror or error} "
              "(set SANDBOX_PORT or --port)", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    logging.getLogger("sandbox").info("Partner Center sandbox on http://%s:%s (store %s)", host, port, config.db_path)
    print(f"Partner Center sandbox listening on http://{host}:{port}", flush=True)
    try:
        while not stop.wait(0.5):
            if not thread.is_alive():
                return 1
    finally:
        server.shutdown()
        server.server_close()
        sandbox.store.close()
    logging.getLogger("sandbox").info("Partner Center sandbox stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
