"""The sandbox's own storage: one SQLite file (or ":memory:"), one connection behind one lock. Each
request's work (replay lookup, the change, the remembered answer) runs under the lock, so two calls
with the same MS-RequestId or the same cart can never both do the work. What every call reads is
indexed (the orders to settle, an order's subscriptions): a call costs the same with 10 or 10,000
orders held (make bench-midnight's burst).

Its clock (`now()`) is the real time plus an offset that `POST /_sandbox/clock` advances (kept in the file, so
a restart keeps it): what Partner Center decides by the date (orders provisioned, carts expired, terms renewed,
the cancellation window) follows it; tokens, the per-minute rate limit and MS-RequestId replays keep the real time."""

import json
import sqlite3
import threading
import time

from .terms import ENDED, renew_due, renews_at

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY, domain TEXT NOT NULL UNIQUE, request_id TEXT, correlation_id TEXT,
    created_at REAL NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS carts (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, request_id TEXT, correlation_id TEXT,
    created_at REAL NOT NULL, expires_at REAL NOT NULL, doc TEXT NOT NULL,
    checkout_status INTEGER, checkout_result TEXT);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, cart_id TEXT NOT NULL UNIQUE, request_id TEXT,
    correlation_id TEXT, created_at REAL NOT NULL, ready_at REAL NOT NULL, status TEXT NOT NULL,
    doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_pending ON orders (status, ready_at);
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, order_id TEXT NOT NULL, cart_id TEXT NOT NULL,
    request_id TEXT, created_at REAL NOT NULL, doc TEXT NOT NULL, renews_at REAL);
CREATE INDEX IF NOT EXISTS subscriptions_order ON subscriptions (order_id);
CREATE TABLE IF NOT EXISTS replies (
    request_id TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
    headers TEXT NOT NULL, body BLOB NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (request_id, method, path));
CREATE TABLE IF NOT EXISTS request_counts (
    tenant TEXT NOT NULL, minute INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (tenant, minute));
CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), offset_seconds REAL NOT NULL);
"""
TABLES = ("customers", "carts", "orders", "subscriptions", "replies", "request_counts", "clock")
SUBSCRIPTION_COLUMNS = "id, customer_id, order_id, cart_id, request_id, created_at, doc, renews_at"


class Store:
    def __init__(self, path: str):
        self.lock = threading.RLock()
        self._pruned = 0.0
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # a sandbox: no fsync per commit
        self.db.executescript(SCHEMA)
        self._schema_upgrade()
        row = self.one("SELECT offset_seconds FROM clock WHERE id = 1")
        self._offset = row["offset_seconds"] if row else 0.0

    def _schema_upgrade(self):
        """A file from before terms were kept: its subscriptions get the column the renewals look up."""
        columns = {row["name"] for row in self.all("PRAGMA table_info(subscriptions)")}
        if "renews_at" not in columns:
            self.run("ALTER TABLE subscriptions ADD COLUMN renews_at REAL")
            for row in self.all("SELECT id, doc FROM subscriptions"):
                self.run("UPDATE subscriptions SET renews_at = ? WHERE id = ?", renews_at(json.loads(row["doc"])), row["id"])
        self.run("CREATE INDEX IF NOT EXISTS subscriptions_renews_at ON subscriptions (renews_at)")

    # -- the clock ---------------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self._offset

    def clock(self) -> dict:
        return {"now": _iso(self.now()), "offset_seconds": self._offset}

    def clock_advance(self, seconds: float) -> dict:
        with self.lock, self.transaction():
            self._offset += seconds
            self.run("INSERT INTO clock VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET offset_seconds = excluded.offset_seconds",
                     self._offset)
        return self.clock()

    def clock_reset(self) -> dict:
        """Back to the real time (tests that advanced it; what renewed meanwhile stays renewed)."""
        with self.lock, self.transaction():
            self._offset = 0.0
            self.run("DELETE FROM clock")
        return self.clock()

    def close(self):
        with self.lock:
            self.db.close()

    # -- helpers used by partner_center under the lock ---------------------------------------
    def one(self, sql: str, *args):
        return self.db.execute(sql, args).fetchone()

    def all(self, sql: str, *args):
        return self.db.execute(sql, args).fetchall()

    def run(self, sql: str, *args):
        return self.db.execute(sql, args)

    def transaction(self):
        return _Transaction(self)

    def settle(self, now: float):
        """Orders whose provisioning time has passed are completed, their subscriptions active
        (Partner Center provisions asynchronously: an order is "pending" first)."""
        due = self.all("SELECT id FROM orders WHERE status = 'pending' AND ready_at <= ?", now)
        for row in due:
            order = json.loads(self.one("SELECT doc FROM orders WHERE id = ?", row["id"])["doc"])
            order["status"] = "completed"
            self.run("UPDATE orders SET status = 'completed', doc = ? WHERE id = ?", json.dumps(order), row["id"])
            for sub in self.all("SELECT id, doc FROM subscriptions WHERE order_id = ?", row["id"]):
                doc = json.loads(sub["doc"])
                if doc.get("status") == "pending":
                    doc["status"] = "active"
                    self.run("UPDATE subscriptions SET doc = ? WHERE id = ?", json.dumps(doc), sub["id"])
        # Terms that ended: renewed (or expired) as Microsoft does at the end of the commitment end date.
        for sub in self.all("SELECT id, doc FROM subscriptions WHERE renews_at <= ?", now):
            doc = json.loads(sub["doc"])
            if renew_due(doc, now) or doc.get("status") in ENDED:  # ended for good: never looked at again
                self.subscription_save(doc)

    def subscription_save(self, doc: dict):
        """Write a subscription document back, with the time its term ends (NULL once it has ended for good)."""
        ends = None if doc.get("status") in ENDED else renews_at(doc)
        self.run("UPDATE subscriptions SET doc = ?, renews_at = ? WHERE id = ?", json.dumps(doc), ends, doc["id"])

    # -- idempotency: the first answer to an MS-RequestId ---------------------------------------
    def reply_find(self, request_id: str, method: str, path: str, *, since: float):
        row = self.one("SELECT status, headers, body FROM replies WHERE request_id = ? AND method = ? AND path = ?"
                       " AND created_at >= ?", request_id, method, path, since)
        return (row["status"], json.loads(row["headers"]), row["body"]) if row else None

    def reply_keep(self, request_id: str, method: str, path: str, status: int, headers: dict, body: bytes,
                   *, keep_seconds: float):
        now = time.time()
        self.run("INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?, ?)",
                 request_id, method, path, status, json.dumps(headers), body, now)
        if now - self._pruned > 60:  # answers older than the idempotency window are forgotten, once a minute
            self.run("DELETE FROM replies WHERE created_at < ?", now - keep_seconds)
            self._pruned = now

    # -- throttling --------------------------------------------------------------------------
    def count_request(self, tenant: str, minute: int) -> int:
        self.run("INSERT INTO request_counts VALUES (?, ?, 1) ON CONFLICT (tenant, minute)"
                 " DO UPDATE SET count = count + 1", tenant, minute)
        return self.one("SELECT count FROM request_counts WHERE tenant = ? AND minute = ?", tenant, minute)["count"]

    # -- the ledger --------------------------------------------------------------------------
    def ledger(self) -> dict:
        with self.lock, self.transaction():
            now = self.now()
            self.settle(now)
            customers = [
                {"id": r["id"], "domain": r["domain"], "request_id": r["request_id"],
                 "correlation_id": r["correlation_id"], "created_at": _iso(r["created_at"])}
                for r in self.all("SELECT * FROM customers ORDER BY created_at, id")
            ]
            subscriptions = []
            by_order: dict[str, list[str]] = {}
            for r in self.all("SELECT * FROM subscriptions ORDER BY created_at, id"):
                doc = json.loads(r["doc"])
                by_order.setdefault(r["order_id"], []).append(r["id"])
                subscriptions.append({
                    "id": r["id"], "customer_id": r["customer_id"], "order_id": r["order_id"],
                    "cart_id": r["cart_id"], "request_id": r["request_id"], "offer_id": doc.get("offerId"),
                    "quantity": doc.get("quantity"), "status": doc.get("status"), "created_at": _iso(r["created_at"]),
                    # The term (renewals show as a later effective start date) and what the next term will take.
                    "effective_start_date": doc.get("effectiveStartDate"),
                    "commitment_end_date": doc.get("commitmentEndDate"),
                    "cancellation_allowed_until_date": doc.get("cancellationAllowedUntilDate"),
                    "auto_renew_enabled": doc.get("autoRenewEnabled"), "billing_cycle": doc.get("billingCycle"),
                    "term_duration": doc.get("termDuration"),
                    "scheduled_next_term_instructions": doc.get("scheduledNextTermInstructions"),
                })
            orders = [
                {"id": r["id"], "request_id": r["request_id"], "cart_id": r["cart_id"], "customer_id": r["customer_id"],
                 "correlation_id": r["correlation_id"], "status": r["status"], "created_at": _iso(r["created_at"]),
                 "subscription_ids": by_order.get(r["id"], [])}
                for r in self.all("SELECT * FROM orders ORDER BY created_at, id")
            ]
            carts = [
                {"id": r["id"], "customer_id": r["customer_id"], "request_id": r["request_id"],
                 "created_at": _iso(r["created_at"]), "expires_at": _iso(r["expires_at"]),
                 "checked_out": r["checkout_result"] is not None}
                for r in self.all("SELECT * FROM carts ORDER BY created_at, id")
            ]
            counts = [
                {"tenant": r["tenant"], "minute": _iso(r["minute"] * 60), "count": r["count"]}
                for r in self.all("SELECT * FROM request_counts ORDER BY minute, tenant")
            ]
        return {"now": _iso(now), "customers": customers, "carts": carts, "orders": orders,
                "subscriptions": subscriptions, "requests_per_minute": counts}

    def reset(self):
        with self.lock, self.transaction():
            for table in TABLES:
                self.run(f"DELETE FROM {table}")
            self._offset = 0.0  # the clock too


class _Transaction:
    def __init__(self, store: Store):
        self.store = store

    def __enter__(self):
        self.store.lock.acquire()
        self.store.db.execute("BEGIN IMMEDIATE")
        return self.store

    def __exit__(self, exc_type, *exc):
        try:
            self.store.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store.lock.release()
        return False


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"
