"""The case page's tickets panel: the saga's tickets (linked when a URL template is set),
and, for operators, a form to link one more."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from opsconsole.errors import DomainError
from opsconsole.identity.roles import OPERATOR, VIEWER, actor_for, has_role, role_required
from opsconsole.web.http import HtmxHttpRequest
from opsconsole.web.problems import message_for

from . import tickets
from .models import Saga, SagaTicket
from .views import case_url, ticket_url


def _saga(saga_id: int) -> Saga:
    saga = Saga.objects.filter(pk=saga_id).first()
    if saga is None:
        raise Http404("No such saga.")
    return saga


@require_GET
@role_required(VIEWER)
@vary_on_headers("HX-Request")
def panel(request: HtmxHttpRequest, saga_id: int) -> HttpResponse:
    saga = _saga(saga_id)
    rows = [{"number": n, "url": ticket_url(n)} for n in tickets.tickets_of(saga)]
    template = "sagas/_tickets_panel.html" if request.htmx else "sagas/tickets_panel.html"
    return render(
        request,
        template,
        {
            "saga": saga,
            "rows": rows,
            "case_url": case_url(saga),
            "can_link": has_role(request, OPERATOR),
        },
    )


@require_POST
@role_required(OPERATOR)
def link(request: HtmxHttpRequest, saga_id: int) -> HttpResponse:
    """Link a ticket (operators and admins)."""
    saga = _saga(saga_id)
    try:
        _, created = tickets.link_ticket(
            saga,
            request.POST.get("number", ""),
            actor=actor_for(request),
            source=SagaTicket.Source.PERSON,
        )
    except DomainError as exc:
        messages.error(request, message_for(exc))
    else:
        messages.success(
            request, "Ticket linked." if created else "That ticket was linked already."
        )
    response = HttpResponseRedirect(case_url(saga))
    response.status_code = 303
    return response
