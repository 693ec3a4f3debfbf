"""python manage.py create_break_glass_user USERNAME --role ROLE: a local emergency account.

Usable only while OPSCONSOLE_BREAK_GLASS_LOGIN=1. Prints a generated password once.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from opsconsole.audit.log import Actor, record
from opsconsole.audit.models import AuditEvent
from opsconsole.identity.models import StaffProfile
from opsconsole.identity.roles import ROLES


class Command(BaseCommand):
    help = "Create or reset a break-glass (local password) account and print its password once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        password = secrets.token_urlsafe(24)
        users = get_user_model().objects
        with transaction.atomic():
            user, created = users.get_or_create(
                username=options["username"], defaults={"email": options["email"]}
            )
            if getattr(getattr(user, "staff_profile", None), "oidc_sub", ""):
                raise CommandError(f"{user.username!r} signs in through OIDC; pick another name.")
            user.set_password(password)
            user.is_active = True
            user.save()
            profile, _ = StaffProfile.objects.get_or_create(user=user)
            profile.role = options["role"]
            profile.is_active = True
            profile.save()
            record(
                Actor.system("manage.py create_break_glass_user"),
                "auth.break_glass_account",
                result=AuditEvent.SUCCEEDED,
                target_type="user",
                target_id=user.username,
                details={"role": options["role"], "created": created},
            )
        self.stderr.write(
            f"Break-glass account {user.username!r} ({options['role']}). "
            "Password shown once; usable only while OPSCONSOLE_BREAK_GLASS_LOGIN=1."
        )
        self.stdout.write(password)
