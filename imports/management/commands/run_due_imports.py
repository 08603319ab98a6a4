from django.core.management.base import BaseCommand

from imports.engine.dispatch import dispatch_due_imports


class Command(BaseCommand):
    help = (
        "Run one dispatch pass now: recover expired leases, then claim and run every due import job. "
        "The worker does the same every minute; this is for operators and tests."
    )

    def handle(self, *args, **options):
        summary = dispatch_due_imports()
        self.stdout.write(str(summary))
        if summary.notified:
            self.stdout.write(f"Sent {summary.notified} import email(s) that had not been sent.")
