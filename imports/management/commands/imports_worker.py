import sys

from django.core.management.base import BaseCommand

from imports.engine.worker import Supervisor


class Command(BaseCommand):
    help = (
        "Run the import engine on this machine: a qcluster for jobs (Q_WORKERS processes), one for deliveries "
        "(the outbox lane: IMPORT_OUTBOX_WORKERS processes) and the dispatcher "
        "that hands due jobs to every worker of every cluster about a second after they fall due. "
        "SIGTERM or Ctrl-C stops them all within IMPORT_WORKER_STOP_SECONDS (default 8 s)."
    )

    def handle(self, *args, **options):
        status = Supervisor().run()
        if status:
            sys.exit(status)
