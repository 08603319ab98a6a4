"""Benchmark of the email outbox: N "Your import is completed" emails sent to a real local SMTP
server, the path before issue 26 and today's side by side, in the same run.

Never touches the developer's database: the command re-runs itself in a child process whose
DATABASE_URL points at a SQLite file in a fresh temporary directory (or, with --postgres URL, at
a temporary database created on that server and dropped after), migrates it, seeds the demo data
and N due jobs, runs them (their emails dropped), then, for each path, makes every notification
due again and sends them all to devtools.smtp_sink (its own process, so its CPU is not counted):
- "before": the handler as it was (one SMTP connection per message, opened and closed by the
  backend around each send; one UPDATE per message to mark it sent), kept below as a reference;
- "after": imports.notify.send.emails_send as it is now.
It prints per email: CPU ms of this process (time.process_time: the sender's Python, not the
database server's), wall ms, SQL statements, and the SMTP connections per chunk the server saw.
`--profile FILE` also writes a cProfile of the "after" path (read it with `python -m pstats`).
"""

import argparse
import datetime as dt
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from devtools.benchmarking import QueryCounter, due_jobs_create
from devtools.smtp_sink import SinkProcess as Sink

BENCH_DB_ENV = "ICP_BENCH_EMAILS_DATABASE"


def legacy_deliver(notification_ids, *, now, loaded, rendered):
    """The email handler before issue 26 (imports.notify.send._deliver at commit b91c14d, minus
    its time budget), the reference: each message sent through a connection the backend opens and
    closes around it, and marked sent with its own UPDATE right after."""
    from django.core.mail import get_connection

    from core.clock import db_now
    from imports.models import Notification
    from imports.notify.content import email_build, recipients_for
    from imports.notify.outbox import NOTIFICATIONS
    from imports.notify.send import NOTE_NO_RECIPIENTS, NOTE_NOT_PENDING, _load

    notifications = list(Notification.objects.filter(pk__in=notification_ids).order_by("id"))
    missing = {n.job_id for n in notifications} - loaded.keys()
    if missing:
        loaded.update(_load(sorted(missing)))
    sent, languages, mail = 0, {}, get_connection()
    for notification in notifications:
        job, rows = loaded[notification.job_id]
        if not recipients_for(notification.kind, job):
            NOTIFICATIONS.mark_sent(notification.pk, now=now, note=NOTE_NO_RECIPIENTS)
            continue
        message = email_build(notification, job, rows, connection=mail, rendered=rendered, languages=languages, now=now)
        if message is None:
            NOTIFICATIONS.mark_sent(notification.pk, now=now, note=NOTE_NOT_PENDING)
            continue
        message.send()
        NOTIFICATIONS.mark_sent(notification.pk, now=db_now())
        sent += 1
    mail.close()
    return sent


class Command(BaseCommand):
    help = "Benchmark the email outbox against a local SMTP server, before and after, on a temporary database."

    def add_arguments(self, parser):
        parser.add_argument("--emails", type=int, default=2000, help="emails (one per due job), default %(default)s")
        parser.add_argument("--companies", type=int, default=None, help="customers the jobs are spread over (default: one per 10 jobs, at least 10)")
        parser.add_argument(
            "--postgres", default=os.environ.get("BENCH_POSTGRES_URL", ""), metavar="URL",
            help="run on a temporary database created on this PostgreSQL server (the user needs CREATEDB) instead of SQLite",
        )
        parser.add_argument("--rounds", type=int, default=1, help="before/after pairs, alternated (default %(default)s)")
        parser.add_argument("--profile", default="", metavar="FILE", help="write a cProfile of one more 'after' round to FILE")
        parser.add_argument("--chunk", type=int, default=None, help="IMPORT_EMAIL_CLAIM_CHUNK for this run (default: the setting's)")
        parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, emails, companies, postgres, rounds, profile, chunk, child, **options):
        if emails < 1 or rounds < 1 or (companies is not None and companies < 1):
            raise CommandError("--emails, --rounds and --companies must be positive.")
        companies = companies or max(10, emails // 10)
        if chunk is not None:
            if chunk < 1:
                raise CommandError("--chunk must be positive.")
            settings.IMPORT_EMAIL_CLAIM_CHUNK = chunk
        if child:
            return self.run_child(emails, companies, rounds, profile)
        manage_py = Path(settings.BASE_DIR) / "manage.py"
        argv = [sys.executable, str(manage_py), "bench_emails", "--child", "--emails", str(emails),
                "--companies", str(companies), "--rounds", str(rounds), "--chunk", str(settings.IMPORT_EMAIL_CLAIM_CHUNK)]
        if profile:
            argv += ["--profile", str(Path(profile).resolve())]
        with tempfile.TemporaryDirectory(prefix="icp-bench-emails-") as tmp:
            bench = None
            if postgres:
                from devtools.bench_engine import PostgresBench

                bench = PostgresBench(postgres, tmp=Path(tmp), log=self.stdout)
                name = bench.template
                bench._create(name)
                database_url = bench._url_for(name)
            else:
                database_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            env = {**os.environ, "DATABASE_URL": database_url, BENCH_DB_ENV: database_url, "REDIS_URL": "", "LOG_LEVEL": "ERROR", "MICROSOFT_ENABLED": "false",
                   # Local provisioning: this measures the emails, not the vendor.
                   "MICROSOFT_ENABLED": "false"}
            try:
                self.stdout.write(f"--- {emails} emails ({'PostgreSQL' if postgres else 'SQLite'}, temporary database)")
                self.stdout.flush()
                child_process = subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for line in child_process.stdout:
                    self.stdout.write(line.rstrip("\n"))
                    self.stdout.flush()
                if child_process.wait():
                    raise CommandError("The email benchmark failed.")
            finally:
                if bench is not None:
                    bench.drop_all()

    # --- the child: runs against the temporary database only -----------------------------------

    def run_child(self, n: int, companies: int, rounds: int, profile: str):
        expected = os.environ.get(BENCH_DB_ENV, "")
        db = settings.DATABASES["default"]
        if not expected or expected != os.environ.get("DATABASE_URL") or (
            db["ENGINE"] == "django.db.backends.sqlite3" and not str(db["NAME"]).startswith(tempfile.gettempdir())
        ):
            raise CommandError("Refusing to run: the database is not the benchmark's temporary one.")
        from imports.engine.dispatch import dispatch_due_imports
        from imports.models import Notification
        from imports.notify.send import emails_send

        call_command("migrate", verbosity=0, interactive=False)
        call_command("seed_demo", verbosity=0, stdout=io.StringIO())
        now = timezone.now().replace(microsecond=0)
        due_jobs_create(n, companies=companies, now=now, due_at=now - dt.timedelta(minutes=1))
        settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
        dispatch_due_imports(now=now)
        emails_send(now=timezone.now())
        count = Notification.objects.count()
        self.stdout.write(f"{n} jobs run, {count} notifications; chunk {settings.IMPORT_EMAIL_CLAIM_CHUNK}")

        sink = Sink()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        try:
            results = []
            for _ in range(rounds):
                for path in ("before", "after"):
                    results.append(self.measure(path, sink, count, profile=""))
            if profile:  # a round of its own: the profiler's overhead stays out of the table
                self.measure("after", sink, count, profile=profile)
                self.stdout.write(f"profile of the 'after' path: {profile} (python -m pstats {profile})")
        finally:
            sink.stop()
        self.stdout.write(
            f"\n{'path':8} {'emails':>6} {'CPU ms/email':>13} {'wall ms/email':>14} {'queries/email':>14} "
            f"{'connections':>12} {'conn/chunk':>11} {'SMTP server CPU ms/email':>25}"
        )
        chunk = max(settings.IMPORT_EMAIL_CLAIM_CHUNK, 1)
        for r in results:
            self.stdout.write(
                f"{r['path']:8} {r['sent']:6} {r['cpu'] * 1000 / r['sent']:13.2f} {r['wall'] * 1000 / r['sent']:14.2f} "
                f"{r['queries'] / r['sent']:14.2f} {r['connections']:12} {r['connections'] / -(-r['sent'] // chunk):11.2f}"
                f" {r['sink_cpu'] * 1000 / r['sent']:25.2f}"
            )
        before = [r for r in results if r["path"] == "before"]
        after = [r for r in results if r["path"] == "after"]
        cpu = sum(r["cpu"] for r in before) / sum(r["cpu"] for r in after)
        wall = sum(r["wall"] for r in before) / sum(r["wall"] for r in after)
        self.stdout.write(f"emails: before / after: CPU {cpu:.2f}x, wall {wall:.2f}x")

    def measure(self, path: str, sink: Sink, count: int, *, profile: str) -> dict:
        from imports.models import Notification
        from imports.notify.outbox import NOTIFICATIONS
        from imports.notify.send import emails_send

        now = timezone.now()
        Notification.objects.update(
            status=Notification.Status.PENDING, sent_at=None, attempts=0, last_error="", next_attempt_at=now
        )
        before = sink.stats()
        counter = QueryCounter()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
        with connection.execute_wrapper(counter):
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            if path == "before":
                loaded, rendered = {}, {}
                sent = NOTIFICATIONS.send_due(
                    lambda ids: legacy_deliver(ids, now=now, loaded=loaded, rendered=rendered), now=now
                )
            else:
                sent = emails_send(now=now)
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiler:
            profiler.dump_stats(profile)
        after = sink.stats()
        unsent = Notification.objects.exclude(status=Notification.Status.SENT).count()
        received = after["messages"] - before["messages"]
        if sent != count or unsent or received != count:
            raise CommandError(f"{path}: {sent} accepted, {received} received, {unsent} not marked sent, of {count}.")
        return {
            "path": path, "sent": sent, "cpu": cpu, "wall": wall, "queries": counter.count,
            "connections": after["connections"] - before["connections"],
            "sink_cpu": (after["cpu_ms"] - before["cpu_ms"]) / 1000,
        }
