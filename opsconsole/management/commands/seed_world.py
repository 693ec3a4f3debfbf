"""`python manage.py seed_world`: build and seed the demo world in an emulator that is
already running (benchmarks: `--orders 10000`), optionally waiting for the executions."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opsconsole.aws import clients, stepfunctions
from opsconsole.aws.errors import AwsError
from opsconsole.emulator import seed, world


class Command(BaseCommand):
    help = "Build the demo world in a running emulator and start N orders and M closures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=seed.DEFAULT_ORDERS)
        parser.add_argument("--closures", type=int, default=seed.DEFAULT_CLOSURES)
        parser.add_argument(
            "--endpoint",
            default=settings.AWS_ENDPOINT_URL or f"http://127.0.0.1:{settings.EMULATOR_PORT}",
            help="the emulator's URL (default: OPSCONSOLE_AWS_ENDPOINT_URL or the demo port)",
        )
        parser.add_argument(
            "--no-well-known",
            action="store_true",
            help="only generated sagas (when the well-known ids were seeded already)",
        )
        parser.add_argument("--first-order", type=int, default=None)
        parser.add_argument("--first-account", type=int, default=None)
        parser.add_argument("--no-dead-letters", action="store_true")
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            help="then wait up to this many seconds for the quick outcomes to finish",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Fresh ids per run, so seeding twice never collides with earlier executions.
        stamp = int(time.time()) % 100_000
        first_order = options["first_order"] or 100_000 + stamp * 100
        first_account = options["first_account"] or 50_000 + stamp * 10
        if not options["no_well_known"] and options["first_order"] is None:
            first_order = 9000
            first_account = 1000
        clients.set_endpoint_override(options["endpoint"])
        try:
            began = time.monotonic()
            try:
                built = world.build()
            except AwsError as exc:
                raise CommandError(
                    f"cannot reach the emulator at {options['endpoint']}: {exc}. "
                    "Start it with `manage.py demo --seed-only` (or `make demo`)."
                ) from exc
            report = seed.seed(
                options["orders"],
                options["closures"],
                built=built,
                well_known=not options["no_well_known"],
                first_order=first_order,
                first_account=first_account,
                dead_letters=not options["no_dead_letters"],
                progress=lambda message: self.stdout.write(f"  {message}"),
            )
            self.stdout.write(
                f"started {report.orders} orders and {report.closures} closures in "
                f"{report.seconds:.1f}s (build + seed {time.monotonic() - began:.1f}s; "
                f"{report.failed_starts} failed to start)"
            )
            if options["wait"]:
                self._wait(built, report, options["wait"], began)
        finally:
            clients.set_endpoint_override(None)

    def _wait(self, built: world.World, report: seed.SeedReport, limit: float, began: float):
        # Sagas that wait for a person (or a pre-order's date) stay RUNNING on purpose.
        waiting = sum(
            n
            for outcome, n in report.outcomes.items()
            if outcome.split(":")[1] in {"waiting", "running"}
        )
        deadline = time.monotonic() + limit
        while True:
            running = sum(
                1
                for arn in (built.order_state_machine_arn, built.closure_state_machine_arn)
                for _ in stepfunctions.iter_executions(arn, status="RUNNING", page_size=1000)
            )
            if running <= waiting or time.monotonic() > deadline:
                break
            time.sleep(2)
        self.stdout.write(
            f"{running} executions still running ({waiting} wait for a person by design); "
            f"{time.monotonic() - began:.1f}s since the seed began"
        )
