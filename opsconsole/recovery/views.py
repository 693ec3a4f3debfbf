"""Recovery: the dead-letter queues and event archives the registry names."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from opsconsole.identity.roles import VIEWER, role_required
from opsconsole.registry import get_registry

from . import config
from .dlq import selectors as dlq_selectors
from .models import QueueDepth


@require_GET
@role_required(VIEWER)
def index(request: HttpRequest) -> HttpResponse:
    registry = get_registry()
    depths = {d.name: d for d in QueueDepth.objects.all()}
    rows = [{"dlq": dlq, "depth": depths.get(dlq.name)} for dlq in config.dlqs(registry)]
    return render(
        request,
        "recovery/index.html",
        {"rows": rows, "archives": config.archives(registry), "inbox": dlq_selectors.inbox()},
    )
