#!/usr/bin/env python
"""Django's command-line utility for opsconsole."""

import sys


def main() -> None:
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except Exception as exc:
        # Imported only now: importing opsconsole first would load its settings before a
        # settings module named in the environment (tests.settings) had its say.
        from opsconsole.registry import RegistryError

        if not isinstance(exc, RegistryError):
            raise
        # A bad configuration file is an operator's typo, not a crash: say where it is.
        sys.stderr.write(f"opsconsole: configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    import os

    # The one setdefault Django itself expects; settings.py reads everything else.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings")
    main()
