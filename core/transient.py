"""Which database errors are transient: trouble with the database, not with what was asked of it.

A lost connection, a server restarting or shutting down, a serialization failure, a deadlock, a
lock or statement timeout: the same work succeeds when tried again a little later, so callers retry
it (imports.engine.runner) instead of recording a verdict. Anything else (a constraint violated, a
missing table, a bug) is not transient and is never retried blindly.
"""

import sqlite3

from django.db import InterfaceError, OperationalError

# PostgreSQL SQLSTATE classes: 08 connection exception, 40 transaction rollback (serialization
# failure, deadlock), 53 insufficient resources, 57 operator intervention (admin shutdown, crash
# shutdown, cannot connect now, query canceled by statement_timeout).
TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57"})
# 55P03 lock_not_available (lock_timeout), 55006 object_in_use.
TRANSIENT_STATES = frozenset({"55P03", "55006"})


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) is a database error worth trying again."""
    for error in _chain(exc):
        if isinstance(error, InterfaceError):  # the connection is closed or broken
            return True
        if isinstance(error, sqlite3.OperationalError):
            # SQLite's only transient trouble is another writer holding the database past busy_timeout.
            return "locked" in str(error) or "busy" in str(error)
        sqlstate = getattr(error, "sqlstate", None)
        if sqlstate:
            return sqlstate[:2] in TRANSIENT_CLASSES or sqlstate in TRANSIENT_STATES
    # A PostgreSQL OperationalError without SQLSTATE is a connection that failed or dropped.
    return any(isinstance(error, OperationalError) for error in _chain(exc)) and not any(
        isinstance(error, sqlite3.Error) for error in _chain(exc)
    )
