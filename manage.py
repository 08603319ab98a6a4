#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        # A configuration mistake (e.g. no DJANGO_SECRET_KEY in production) is one clear line, not a traceback.
        sys.exit(f"Configuration error: {error}")


if __name__ == "__main__":
    main()
