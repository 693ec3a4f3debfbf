"""Audit records are append-only: the model refuses changes, and so does PostgreSQL itself."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from opsconsole.audit.log import Actor, record
from opsconsole.audit.models import AppendOnlyError, AuditEvent

pytestmark = pytest.mark.django_db


def _event() -> AuditEvent:
    return record(Actor.system(), "test.fact", result=AuditEvent.SUCCEEDED, target_id="x")


def test_it_refuses_to_change_a_record():
    event = _event()
    event.result = AuditEvent.FAILED
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(result=AuditEvent.FAILED)
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["result"])
    assert AuditEvent.objects.get(pk=event.pk).result == AuditEvent.SUCCEEDED


def test_it_refuses_to_delete_a_record():
    event = _event()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
def test_it_is_refused_by_the_database_even_through_raw_sql():
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    event = _event()
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    statements = (
        "UPDATE {} SET result = 'failed' WHERE id = %s",
        "DELETE FROM {} WHERE id = %s",
    )
    for sql in statements:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql.format(table), [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).result == AuditEvent.SUCCEEDED


def test_it_has_no_trigger_migration_effect_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert cursor.fetchall() == []
