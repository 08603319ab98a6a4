"""The django-q2 ORM broker, first in first out, on the database's clock.

Upstream's ORM broker picks the next task with no ORDER BY, so PostgreSQL may hand a later batch
out before an earlier one (heap order, which reused space scrambles). The dispatcher claims and
enqueues batches oldest due first; taking them in enqueue order keeps jobs running in due order
when a backlog is worked off (Redis lists are FIFO already).

A task's `lock` is when it may be taken: the enqueue time for a new task, taken-at + Q_RETRY for
one a worker took (redelivered if never acknowledged). Upstream writes and compares it with
`timezone.now()` of whichever process asks, so a cluster whose clock is 5 minutes fast enqueues
tasks the others cannot see for 5 minutes, and one 5 minutes slow sees nobody's. Here every lock
is written and compared on the database's clock (core.clock.db_now), the same for every cluster.
"""

from datetime import timedelta
from time import sleep

from django_q.brokers.orm import ORM
from django_q.conf import Conf

from core.clock import db_now


def _now():
    return db_now(using=Conf.ORM)


class FifoORM(ORM):
    def enqueue(self, task):
        # list_key might be null (e.g. in a test setup) but OrmQ.key has a not-null constraint (as upstream)
        package = self.get_connection().create(key=self.list_key or Conf.CLUSTER_NAME, payload=task, lock=_now())
        return package.pk

    def timeout(self, task):
        return _now() + timedelta(seconds=Conf.RETRY)

    def queue_size(self) -> int:
        return self.get_connection().filter(key=self.list_key, lock__lte=_now()).count()

    def lock_size(self) -> int:
        return self.get_connection().filter(key=self.list_key, lock__gt=_now()).count()

    def dequeue(self):
        now = _now()
        tasks = list(self.get_connection().filter(key=self.list_key, lock__lt=now).order_by("id")[: Conf.BULK])
        if not tasks:
            sleep(Conf.POLL)  # as upstream: an empty queue is looked at again after Q_POLL
            return None
        taken = []
        for task in tasks:
            # Conditional on the lock we read: another cluster that was faster keeps its task.
            if self.get_connection().filter(id=task.id, lock=task.lock).update(lock=self.timeout(task)):
                taken.append((task.pk, task.payload))
        return taken
