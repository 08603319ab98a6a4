import sys

from django.core.management.base import BaseCommand

from imports.engine.worker import Supervisor


class Command(BaseCommand):
    help = (
        "Run the import engine on this machine: one qcluster (Q_WORKERS processes) plus the dispatcher "
        "that hands due jobs to every worker of every cluster about a second after they fall due. "
        "SIGTERM or Ctrl-C stops both within IMPORT_WORKER_STOP_SECONDS (default 8 s)."
    )

    def handle(self, *args, **options):
        status = Supervisor().run()
        if status:
            sys.exit(status)
