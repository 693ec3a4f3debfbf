"""python manage.py revoke_api_token NAME: revoke every usable token with that name."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opsconsole.audit.log import Actor
from opsconsole.identity import actions
from opsconsole.identity.models import ApiToken


class Command(BaseCommand):
    help = "Revoke a service-account API token by name (takes effect on its next request)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = list(
            ApiToken.objects.usable().filter(name=options["name"]).values_list("pk", flat=True)
        )
        if not ids:
            raise CommandError(f"No usable token named {options['name']!r}.")
        for token_id in ids:
            actions.revoke_api_token(Actor.system("manage.py revoke_api_token"), token_id)
        self.stdout.write(f"Revoked {len(ids)} token(s) named {options['name']!r}.")
