"""`python manage.py demo_fix CAUSE [ARG]`: fix a seeded cause in the running demo world, so
a redrive or restart of the sagas it failed can succeed.

    demo_fix reopen-slot [POSTCODE]     the courier slot BookShipment could not book
    demo_fix close-slot [POSTCODE]      (close it again)
    demo_fix restock [SKU]              the low-stock item ReserveInventory ran out of
    demo_fix clear-billing ACCOUNT      the payment-provider error HandleBilling hit
    demo_fix lift-hold ACCOUNT          the legal hold AnonymizeUserData refused
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opsconsole.aws import clients
from opsconsole.aws.errors import AwsError
from opsconsole.emulator import fixes

CAUSES: dict[str, Callable[..., str]] = {
    "reopen-slot": fixes.reopen_slot,
    "close-slot": fixes.close_slot,
    "restock": fixes.restock,
    "clear-billing": fixes.clear_billing_error,
    "lift-hold": fixes.lift_legal_hold,
}
NEEDS_ARGUMENT = ("clear-billing", "lift-hold")


class Command(BaseCommand):
    help = "Fix a seeded cause in the demo world (reopen a slot, restock, clear billing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cause", choices=sorted(CAUSES))
        parser.add_argument("argument", nargs="?", default=None)
        parser.add_argument(
            "--endpoint",
            default=settings.AWS_ENDPOINT_URL or f"http://127.0.0.1:{settings.EMULATOR_PORT}",
            help="the emulator's URL (default: OPSCONSOLE_AWS_ENDPOINT_URL or the demo port)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        cause, argument = options["cause"], options["argument"]
        if cause in NEEDS_ARGUMENT and not argument:
            raise CommandError(f"{cause} needs an account id (e.g. 78)")
        fix = CAUSES[cause]
        with clients.endpoint_override(options["endpoint"]):
            try:
                done = fix(argument) if argument else fix()
            except AwsError as exc:
                raise CommandError(f"the emulator did not answer: {exc}") from exc
        self.stdout.write(done)
