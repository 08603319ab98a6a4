"""`manage.py seed_demo`: the manual's demo data (devtools.demo), for `make run` and for trying the portal."""

from django.core.management.base import BaseCommand

from devtools.demo import DEFAULT_PASSWORD, DEMO_LOGINS, seed_demo, seed_demo_imports


class Command(BaseCommand):
    help = "Load the demo data of the manual (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password for the demo users.")

    def handle(self, *args, password, **options):
        created = seed_demo(password=password)
        # Two finished bulk imports (Companies, Products), so My imports looks like the manual's at once.
        created += seed_demo_imports()
        if created:
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded ({created} objects created)."))
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        self.stdout.write("Log in at /login/ with:")
        for email in DEMO_LOGINS:
            self.stdout.write(f"  {email}")
        self.stdout.write(f"Password: {password} (existing users keep the password they have)")
