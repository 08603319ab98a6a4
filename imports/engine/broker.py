"""The django-q2 ORM broker, first in first out.

Upstream's ORM broker picks the next task with no ORDER BY, so PostgreSQL may hand a later batch
out before an earlier one (heap order, which reused space scrambles). The dispatcher claims and
enqueues batches oldest due first; taking them in enqueue order keeps jobs running in due order
when a backlog is worked off (Redis lists are FIFO already). Only the selection differs.
"""

from time import sleep

from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf


class FifoORM(ORM):
    def dequeue(self):
        tasks = list(
            self.get_connection().filter(key=self.list_key, lock__lt=timezone.now()).order_by("id")[: Conf.BULK]
        )
        if not tasks:
            sleep(Conf.POLL)  # as upstream: an empty queue is looked at again after Q_POLL
            return None
        taken = []
        for task in tasks:
            # Conditional on the lock we read: another cluster that was faster keeps its task.
            if self.get_connection().filter(id=task.id, lock=task.lock).update(lock=self.timeout(task)):
                taken.append((task.pk, task.payload))
        return taken
