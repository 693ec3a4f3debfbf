#!/usr/bin/env python
"""Django's command-line utility for opsconsole."""

import sys


def main() -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    import os

    # The one setdefault Django itself expects; settings.py reads everything else.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings")
    main()
