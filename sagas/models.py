"""The saga read model: one row per Step Functions execution, synced from AWS."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.urls import NoReverseMatch, reverse
from django.utils import timezone


class SagaStatus(models.TextChoices):
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting for approval"
    SUCCEEDED = "succeeded", "Succeeded"
    COMPENSATED = "compensated", "Compensated"
    # A compensation step itself failed: the unwinding stopped half way (money or stock
    # stranded). The worst outcome, never to be read as a clean unwind.
    COMPENSATION_FAILED = "compensation_failed", "Compensation failed"
    NEEDS_REVIEW = "needs_review", "Needs review"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    ABORTED = "aborted", "Aborted"


ACTIVE_STATUSES = (SagaStatus.RUNNING, SagaStatus.WAITING)
_STATUS_LABELS: dict[str, str] = {value: str(label) for value, label in SagaStatus.choices}
TERMINAL_SFN_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class NamedByBusinessKey:
    """Shown as a person says it: "orders 8842 (waiting)". For the saga, and for what
    belongs to one saga of a kind and key (its approval requests)."""

    kind: str
    business_key: str
    status: str

    def __str__(self) -> str:
        return f"{self.kind} {self.business_key} ({self.status})"


class Saga(NamedByBusinessKey, models.Model):
    kind = models.CharField(max_length=40)
    execution_arn = models.CharField(max_length=512, unique=True)
    execution_name = models.CharField(max_length=80, db_index=True)
    state_machine_arn = models.CharField(max_length=512)
    business_key = models.CharField(max_length=200, db_index=True)
    correlation_id = models.CharField(max_length=128, blank=True, default="", db_index=True)
    initiator_type = models.CharField(max_length=32, blank=True, default="")
    initiator_id = models.CharField(max_length=255, blank=True, default="")
    ticket = models.CharField(max_length=64, blank=True, default="", db_index=True)
    status = models.CharField(max_length=24, choices=SagaStatus.choices)
    sfn_status = models.CharField(max_length=16)  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT...
    current_step = models.CharField(max_length=80, blank=True, default="")
    step_entered_at = models.DateTimeField(null=True, blank=True)
    # When the current step passes its SLA (registry); only set while the saga is active,
    # so "stuck" is one indexed range query.
    step_deadline = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True, default="")
    last_cause = models.TextField(blank=True, default="")
    business_status = models.CharField(max_length=40, blank=True, default="")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    compensation_ran = models.BooleanField(default=False)
    # The compensation step that failed, once one did (kept: a terminal saga is not re-read).
    compensation_failed_step = models.CharField(max_length=80, blank=True, default="")
    callback_pending = models.BooleanField(default=False)
    redrive_count = models.PositiveIntegerField(default=0)
    # When the history tail was last read for the current step (running sagas, round robin).
    history_checked_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)
    # Listed (or known from an event without its input) but not described yet: its input's
    # facts (correlation id, initiator, ticket) come later, within the call budget.
    details_pending = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "-started_at", "-id"], name="saga_kind_started"),
            models.Index(fields=["kind", "status", "-started_at", "-id"], name="saga_kind_status"),
            models.Index(
                fields=["kind", "current_step", "-started_at", "-id"], name="saga_kind_step_v2"
            ),
            # Covering indexes for the status counts (tabs) under the common filters.
            models.Index(fields=["kind", "step_deadline", "status"], name="saga_kind_deadline_st"),
            models.Index(fields=["kind", "current_step", "status"], name="saga_kind_step_status"),
            # Also recounts a day's bucket of SagaCount from the index alone.
            models.Index(
                fields=["kind", "started_at", "status", "current_step", "step_deadline"],
                name="saga_kind_day_st_step",
            ),
            models.Index(fields=["status", "history_checked_at"], name="saga_active_refresh"),
            models.Index(fields=["-started_at", "-id"], name="saga_started"),
            models.Index(
                fields=["kind", "details_pending", "-started_at"], name="saga_details_pending"
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, and recount the row's buckets in SagaCount in the same transaction: the
        sync's bulk upsert recounts its own, this covers single-row changes (a refresh, the
        case page seeing a new step) that a later sync would not rewrite."""
        using = kwargs.get("using")
        with transaction.atomic(using=using):
            # The bucket the row was in, so a save that moves it fixes the old bucket too
            # (asked here, not remembered on every loaded row: lists load many, save few).
            before = (
                Saga.objects.using(using)
                .filter(pk=self.pk)
                .values_list("kind", "started_at")
                .first()
                if self.pk
                else None
            )
            super().save(*args, **kwargs)
            touched = [(self.kind, self.started_at)]
            if before is not None and before != touched[0]:
                touched.append(before)
            refresh_buckets(touched)

    def get_absolute_url(self) -> str:
        """The case page by business key, naming this run (a key may have several); "" for
        a key no URL can carry."""
        try:
            base = reverse("sagas:detail", args=[self.kind, self.business_key])
        except NoReverseMatch:
            return ""
        return f"{base}?{urlencode({'run': self.execution_name})}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self.sfn_status in TERMINAL_SFN_STATUSES

    @property
    def status_label(self) -> str:
        return _STATUS_LABELS.get(self.status, self.status)

    def duration(self, now: datetime | None = None) -> timedelta:
        end = self.stopped_at or now or timezone.now()
        return max(end - self.started_at, timedelta(0))

    def age(self, now: datetime | None = None) -> timedelta:
        return max((now or timezone.now()) - self.started_at, timedelta(0))

    def is_stuck(self, now: datetime | None = None) -> bool:
        """In its current step longer than the step's SLA (active sagas only)."""
        return bool(
            self.is_active
            and self.step_deadline is not None
            and self.step_deadline < (now or timezone.now())
        )

    @property
    def ref(self) -> str:
        """The reference a person (or the ticketing system) can use: `<kind>:<business key>`."""
        return f"{self.kind}:{self.business_key}"


class SagaCount(models.Model):
    """How many sagas of a kind started in one (UTC) hour, and in one day, are in each
    status and step, and, for those with a step deadline, in which hour it falls.

    The status tabs answer from here instead of counting the read model: whole days of a
    window from the day rows (`hour` is null), the whole hours at its edges from the hour
    rows, and only the minutes left over live. The deadline hour only splits active sagas,
    so "stuck" is whole hours of deadlines from here and the current hour live. An hour is
    recounted from the rows in the transaction that changes sagas started in it, and its
    day summed again from its hours (see `refresh_buckets`): exact as of the last commit."""

    kind = models.CharField(max_length=40)
    day = models.DateField()
    hour = models.DateTimeField(null=True, blank=True)  # null: the row counts the whole day
    status = models.CharField(max_length=24, choices=SagaStatus.choices)
    current_step = models.CharField(max_length=80, blank=True, default="")
    deadline_hour = models.DateTimeField(null=True, blank=True)
    n = models.PositiveIntegerField(default=0)

    class Meta:
        # Buckets are replaced whole under a per-kind lock, so no uniqueness is needed.
        indexes = [
            # Day rows (hour IS NULL) by day, hour rows by hour: each a tight index range.
            models.Index(fields=["kind", "hour", "day"], name="saga_count_kind_hour_day"),
            models.Index(fields=["kind", "day"], name="saga_count_kind_day"),
        ]

    def __str__(self) -> str:
        when = self.hour.isoformat() if self.hour else self.day.isoformat()
        return f"{self.kind} {when} {self.status} {self.current_step or '-'}: {self.n}"

    @staticmethod
    def hour_of(moment: datetime) -> datetime:
        return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class SagaDetail(models.Model):
    """What the case page shows beyond the read model: the execution history (complete and
    never refetched once the execution is terminal) and the last DynamoDB items read."""

    saga = models.OneToOneField(Saga, primary_key=True, on_delete=models.CASCADE)
    history = models.JSONField(default=list, blank=True)
    history_event_count = models.PositiveIntegerField(default=0)
    # True once the execution was terminal when the history was read: it cannot change.
    history_complete = models.BooleanField(default=False)
    history_truncated = models.BooleanField(default=False)
    history_fetched_at = models.DateTimeField(null=True, blank=True)
    items = models.JSONField(default=list, blank=True)
    items_fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"detail of saga {self.saga_id}"


class SyncState(models.Model):
    """How far the read model of one saga kind is synced, and whether the last sync failed."""

    kind = models.CharField(max_length=40, unique=True)
    state_machine_arn = models.CharField(max_length=512, blank=True, default="")
    # The newest execution start seen by the last complete listing: an incremental sync
    # stops at known executions older than this.
    watermark = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(default=0)
    last_new = models.PositiveIntegerField(default=0)
    last_updated = models.PositiveIntegerField(default=0)
    # Event-driven sync: the last status change event applied, when it happened in AWS and
    # how long it took to reach the read model; the safety net's last listing.
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_event_lag_ms = models.PositiveIntegerField(null=True, blank=True)
    events_applied = models.PositiveBigIntegerField(default=0)
    last_listing_at = models.DateTimeField(null=True, blank=True)
    # Kept current by events: active rows the safety net found no longer running, and when
    # it first did (execution ARN -> ISO time). Their event is awaited before a describe.
    awaiting_events = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"sync of {self.kind}"

    @property
    def is_failing(self) -> bool:
        return self.last_error_at is not None and (
            self.last_success_at is None or self.last_error_at > self.last_success_at
        )

    def is_stale(self, now: datetime | None = None) -> bool:
        if self.last_success_at is None:
            return True
        age = (now or timezone.now()) - self.last_success_at
        return age.total_seconds() > settings.SYNC_STALE_AFTER_SECONDS

    def as_banner(self, now: datetime | None = None) -> dict[str, Any] | None:
        """What a list page says about this kind's freshness; None when all is well."""
        if self.is_failing:
            return {"level": "bad", "failing": True, "error": self.last_error[:300]}
        if self.is_stale(now):
            return {"level": "warn", "failing": False, "error": ""}
        return None


# --- the status tabs' summary --------------------------------------------------------------
#
# A bucket is (kind, UTC hour of started_at). Whoever changes sagas recounts the hours it
# touched, old and new, and sums their days again, in the same transaction, so the summary
# is exact as of the last commit: the sync's bulk upsert, a single row's save, and
# `sync_sagas --full` rebuilding all. Recounting (rather than adding and subtracting deltas)
# is what makes it converge when two syncs run at once or a sync is retried: the last
# recount of a bucket reads every row in it. A sync of new executions touches the current
# hour: an hour of rows and a day of hour rows, however big the table.
# It lives here, not in a module of its own, because Saga.save needs it.

# Buckets recounted per query: each is one index range, and the OR of a few hundred stays
# a small statement.
RECOUNT_BATCH = 200
INSERT_BATCH = 2000
_DIMENSIONS = ("kind", "day", "status", "current_step", "deadline_hour")


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _lock_kinds(kinds: Iterable[str]) -> None:
    """Serialise recounts of a kind, so a recount never commits over a newer one computed
    from rows it could not see yet (PostgreSQL; SQLite has one writer at a time anyway)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for kind in sorted(set(kinds)):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["saga-count:" + kind])


def _hour_rows(sagas: Any) -> list[SagaCount]:
    counted = (
        sagas.annotate(
            hour=TruncHour("started_at", tzinfo=UTC),
            deadline_hour=TruncHour("step_deadline", tzinfo=UTC),
        )
        .values("kind", "hour", "status", "current_step", "deadline_hour")
        .annotate(n=Count("*"))
        .order_by()
    )
    return [SagaCount(day=day_of(r["hour"]), **r) for r in counted]


def _day_rows(hour_rows: Iterable[SagaCount]) -> list[SagaCount]:
    days: dict[tuple[Any, ...], int] = {}
    for r in hour_rows:
        key = tuple(getattr(r, d) for d in _DIMENSIONS)
        days[key] = days.get(key, 0) + r.n
    return [SagaCount(**dict(zip(_DIMENSIONS, key, strict=True)), n=n) for key, n in days.items()]


def refresh_buckets(touched: Iterable[tuple[str, datetime]]) -> None:
    """Recount the hours of these (kind, started_at) pairs, and sum their days again."""
    hours = sorted({(kind, SagaCount.hour_of(started)) for kind, started in touched})
    if not hours:
        return
    with transaction.atomic():
        _lock_kinds(kind for kind, _ in hours)
        for start in range(0, len(hours), RECOUNT_BATCH):
            batch = hours[start : start + RECOUNT_BATCH]
            rows = Q()
            stale = Q()
            for kind, hour in batch:
                rows |= Q(kind=kind, started_at__gte=hour, started_at__lt=hour + timedelta(hours=1))
                stale |= Q(kind=kind, hour=hour)
            SagaCount.objects.filter(stale).delete()
            SagaCount.objects.bulk_create(
                _hour_rows(Saga.objects.filter(rows)), batch_size=INSERT_BATCH
            )
        days = sorted({(kind, day_of(hour)) for kind, hour in hours})
        for start in range(0, len(days), RECOUNT_BATCH):
            of_days = Q()
            for kind, day in days[start : start + RECOUNT_BATCH]:
                of_days |= Q(kind=kind, day=day)
            SagaCount.objects.filter(of_days, hour__isnull=True).delete()
            summed = _day_rows(SagaCount.objects.filter(of_days, hour__isnull=False))
            SagaCount.objects.bulk_create(summed, batch_size=INSERT_BATCH)


def rebuild_counts(kind: str | None = None) -> int:
    """Recount every bucket (of one kind): the backfill, and what `sync_sagas --full` ends
    with. Returns the number of summary rows."""
    with transaction.atomic():
        kinds = (
            [kind]
            if kind
            else list(Saga.objects.order_by().values_list("kind", flat=True).distinct())
        )
        _lock_kinds(kinds)
        stale = SagaCount.objects.all() if kind is None else SagaCount.objects.filter(kind=kind)
        stale.delete()
        sagas = Saga.objects.all() if kind is None else Saga.objects.filter(kind=kind)
        hour_rows = _hour_rows(sagas)
        rows = hour_rows + _day_rows(hour_rows)
        SagaCount.objects.bulk_create(rows, batch_size=INSERT_BATCH)
    return len(rows)


class SagaTicket(models.Model):
    """A ticket linked to a saga beyond the one its execution input names (`Saga.ticket`):
    attached by a person on the case page or by the ticketing system through the API.
    A saga may have several; a ticket may name several sagas."""

    class Source(models.TextChoices):
        PERSON = "person", "Attached by a person"
        API = "api", "Attached through the API"

    saga = models.ForeignKey(Saga, on_delete=models.CASCADE, related_name="linked_tickets")
    number = models.CharField(max_length=64, db_index=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    added_by = models.CharField(max_length=255)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["saga", "number"], name="saga_ticket_once"),
        ]

    def __str__(self) -> str:
        return f"{self.number} -> saga {self.saga_id}"
