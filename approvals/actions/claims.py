"""Claims: an approver takes a request for a while so other approvers leave it to them."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from opsconsole.audit.log import Actor
from opsconsole.identity.roles import ADMIN

from ..models import OPEN_STATUSES, ApprovalRequest
from .common import audited, get_request, not_an_approver
from .errors import AlreadyDecided, ApprovalError, ClaimedByOther, facts

CLAIM_DURATION = timedelta(minutes=15)


def _claim_refusal(req: ApprovalRequest, actor: Actor) -> ApprovalError | None:
    if not req.is_open:
        return AlreadyDecided.of(req)
    holder = req.claim_holder()
    if holder and holder != actor.id:
        return ClaimedByOther.of(req)
    return None


def claim(request_id: int | str, *, actor: Actor) -> ApprovalRequest:
    """Take a request for CLAIM_DURATION so other approvers leave it to you."""
    req = get_request(request_id)
    refusal = not_an_approver(actor) or _claim_refusal(req, actor)
    with audited(req, actor, "approval.claim", refusal) as a:
        now = timezone.now()
        updated = (
            ApprovalRequest.objects.filter(pk=req.pk, status__in=OPEN_STATUSES)
            .filter(Q(claimed_by="") | Q(claimed_until__lt=now) | Q(claimed_by=actor.id))
            .update(claimed_by=actor.id, claimed_until=now + CLAIM_DURATION, updated_at=now)
        )
        req.refresh_from_db()
        if not updated:
            # Lost a race since the check above: the attempt's outcome is the refusal.
            lost = _claim_refusal(req, actor) or ClaimedByOther.of(req)
            a.refused(lost.code, **facts(lost))
            raise lost
    return req


def unclaim(request_id: int | str, *, actor: Actor) -> ApprovalRequest:
    """Give a claimed request back (an admin may release anybody's)."""
    req = get_request(request_id)
    refusal = not_an_approver(actor)
    with audited(req, actor, "approval.unclaim", refusal):
        qs = ApprovalRequest.objects.filter(pk=req.pk)
        if actor.role != ADMIN:
            qs = qs.filter(claimed_by=actor.id)
        qs.update(claimed_by="", claimed_until=None, updated_at=timezone.now())
        req.refresh_from_db()
    return req
