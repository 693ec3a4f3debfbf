"""`python manage.py sync_sagas [--kind K] [--full]`: sync the saga read model from AWS now."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opsconsole.registry import get_registry
from sagas import actions


class _Bar:
    """A one-line progress bar, redrawn in place (only on a terminal)."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.last = 0.0

    def __call__(self, kind: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done not in (0, total) and now - self.last < 0.1:
            return
        self.last = now
        filled = int(self.width * done / total) if total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r{kind:<12} [{bar}] {done}/{total} executions")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Sync the saga read model from Step Functions and DynamoDB: new executions, and the "
        "state of running ones. --full re-reads every execution."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", help="only this saga kind (as named in the registry)")
        parser.add_argument(
            "--full",
            action="store_true",
            help="list and re-describe every execution instead of stopping at known ones",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options.get("kind")
        registry = get_registry()
        if kind and kind not in registry.kinds:
            raise CommandError(f"unknown saga kind {kind!r} (known: {', '.join(registry.kinds)})")
        progress = _Bar(self.stdout) if sys.stdout.isatty() and self.stdout.isatty() else None
        results = actions.sync_all_kinds(kind=kind, full=options["full"], progress=progress)
        failed = False
        for r in results:
            if r.error:
                failed = True
                self.stderr.write(self.style.ERROR(f"{r.kind}: sync failed: {r.error}"))
                continue
            self.stdout.write(
                self.style.SUCCESS(
                    f"{r.kind}: {r.new} new, {r.updated} updated ({r.listed} listed, "
                    f"{r.list_calls} list / {r.describe_calls} describe / "
                    f"{r.history_calls} history / {r.dynamodb_calls} DynamoDB calls) "
                    f"in {r.seconds:.1f} s"
                )
            )
        if failed:
            raise CommandError("some kinds could not be synced (see above)")
