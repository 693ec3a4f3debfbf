"""python manage.py create_api_token NAME --role ROLE [--expires DAYS] [--rate 120/minute]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opsconsole.audit.log import Actor
from opsconsole.identity import actions
from opsconsole.identity.roles import ROLES


class Command(BaseCommand):
    help = "Create a service-account API token and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The service account, e.g. servicenow")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--expires", type=int, default=None, metavar="DAYS")
        parser.add_argument("--rate", default="", metavar="N/PERIOD", help="e.g. 120/minute")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            token, raw = actions.issue_api_token(
                Actor.system("manage.py create_api_token"),
                options["name"],
                options["role"],
                expires_days=options["expires"],
                rate_limit=options["rate"],
            )
        except actions.TokenError as exc:
            raise CommandError(str(exc)) from None
        expiry = (
            f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC"
            if token.expires_at
            else "never expires"
        )
        self.stderr.write(
            f"Token {token.name!r} ({token.role}, {expiry}). It is shown this once; store it now."
        )
        # The token alone on stdout, so `TOKEN=$(manage.py create_api_token ...)` works.
        self.stdout.write(raw)
