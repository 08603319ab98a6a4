"""The engine's processes as the database sees them (imports.models.EngineWorker): each one's clock
offset from the database, when it was last seen, its last round that completed and its last
failure with the reason. `imports_worker`'s dispatcher records itself at most every
IMPORT_RECOVERY_SECONDS and on every failure; the every-minute tick (imports.tasks) after each
run. The health report (imports.engine.health) reads them: a tick counts only once it completed,
and a worker whose clock is off is named.

Recording is best effort: it runs beside the engine's work, never instead of it, so a write
that fails (the database is down: the very failure being recorded, often) is logged and
forgotten, and the loop that asked goes on.
"""

import datetime as dt
import logging
import os
import socket

from core.clock import db_now, offset_seconds
from imports.models import EngineWorker

logger = logging.getLogger(__name__)
Role = EngineWorker.Role

# Rows of processes not seen for this long are deleted (when a new process first records itself).
RETENTION = dt.timedelta(days=1)
FAILURE_MAX_LENGTH = EngineWorker._meta.get_field("last_failure").max_length


def worker_name() -> str:
    """host:pid of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def failure_reason(failure: BaseException | str) -> str:
    """One line: the exception's type and message, shortened to what the row keeps."""
    if isinstance(failure, BaseException):
        text = " ".join(str(failure).split())
        failure = f"{type(failure).__name__}: {text}" if text else type(failure).__name__
    line = " ".join(str(failure).split())
    return line if len(line) <= FAILURE_MAX_LENGTH else line[: FAILURE_MAX_LENGTH - 1] + "…"


def worker_record(*, role: str, completed: bool = False, failure: BaseException | str | None = None) -> bool:
    """Record that this process is alive now (database clock), with its clock offset; with
    `completed`, that a round completed now; with `failure`, that one failed now and why.
    True when written; False (logged) when the database refused."""
    try:
        now = db_now()
        fields = {
            "role": role,
            "last_seen_at": now,
            # Stored as this process minus the database: positive when this process is fast.
            "clock_offset_seconds": round(-offset_seconds(), 3),
        }
        if completed:
            fields["last_round_at"] = now
        if failure is not None:
            fields.update(last_failure_at=now, last_failure=failure_reason(failure))
        name = worker_name()
        if not EngineWorker.objects.filter(name=name).update(**fields):
            # This process's first record: forget processes long gone, then add this one.
            EngineWorker.objects.filter(last_seen_at__lt=now - RETENTION).delete()
            EngineWorker.objects.update_or_create(name=name, defaults=fields)
        return True
    except Exception:
        logger.warning("Could not record this engine worker's round in the database.", exc_info=True)
        return False
