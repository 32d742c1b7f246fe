"""The cost pages: the overview, one project's costs, its budget form, and the ledger CSV."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from pixxel_dashboard.accounts.access import get_org_for_user
from pixxel_dashboard.accounts.models import Role
from pixxel_dashboard.core.http import HtmxHttpRequest
from pixxel_dashboard.jobs.models import Project

from . import charts, figures
from .budgets import set_budget
from .forms import CLEAR, BudgetForm
from .month import WARNING_PERCENT


def _range(request, organization) -> figures.CostRange:
    return figures.parse_range(request.GET, figures.today_of(organization))


def _with(base: str, params: dict[str, str]) -> str:
    query = QueryDict(mutable=True)
    query.update(params)
    encoded = query.urlencode()
    return f"{base}?{encoded}" if encoded else base


def _range_context(organization, cost_range: figures.CostRange, here: str) -> dict:
    return {
        "cost_range": cost_range,
        "ranges": figures.RANGES,
        "csv_url": _with(reverse("cost_ledger_csv", args=[organization.slug]), cost_range.params()),
        "here": here,
    }


@login_required
@require_GET
def cost_overview(request: HtmxHttpRequest, org: str) -> HttpResponse:
    """Every project's credits: this month, last month, the range; forecast and budget use."""
    organization, membership = get_org_for_user(request, org)
    cost_range = _range(request, organization)
    notes = list(cost_range.notes)
    sort = figures.parse_sort(request.GET.get("sort"), notes)
    overview = figures.overview(organization, cost_range, sort)
    here = reverse("cost_overview", args=[organization.slug])
    sort_links = {}
    for name, (label, _) in figures.OVERVIEW_SORTS.items():
        # A click sorts by the column, largest first; a second click flips it.
        next_sort = name if sort == f"-{name}" else f"-{name}"
        params = {**cost_range.params(), "sort": next_sort}
        # Keyed for the template's dotted lookups ("last-month" → sort_links.last_month).
        sort_links[name.replace("-", "_")] = {
            "label": label,
            "url": _with(here, params),
            "current": sort.lstrip("-") == name,
            "descending": sort.startswith("-"),
        }
    return render(
        request,
        "costs/overview.html",
        {
            "organization": organization,
            "membership": membership,
            "overview": overview,
            "notes": notes,
            "sort_links": sort_links,
            "sort": sort,
            "warning_percent": WARNING_PERCENT,
            **_range_context(organization, cost_range, here),
        },
    )


@login_required
@require_GET
def project_costs(request: HtmxHttpRequest, org: str, project: str) -> HttpResponse:
    """One project's credits by month, workflow and member; estimates against actual credits."""
    organization, membership = get_org_for_user(request, org)
    return _project_page(request, organization, membership, project, BudgetForm())


def _project_page(request, organization, membership, project: str, form, status=200):
    cost_range = _range(request, organization)
    try:
        costs = figures.project_costs(organization, project, cost_range)
    except Project.DoesNotExist:
        raise Http404("No such project") from None
    chart = charts.bar_chart(
        "months-chart",
        f"Credits per month, {costs.name}",
        f"Credits spent on {costs.name} in each of the last {len(costs.months)} months, "
        f"{costs.months[0].label} to {costs.months[-1].label}; the table below has the numbers.",
        [
            charts.BarSpec(bar.label, bar.credits, figures.credits_text(bar.credits))
            for bar in costs.months
        ],
    )
    here = reverse("project_costs", args=[organization.slug, project])
    return render(
        request,
        "costs/project.html",
        {
            "organization": organization,
            "membership": membership,
            "costs": costs,
            "chart": chart,
            "form": form,
            "notes": cost_range.notes,
            "can_budget": membership.can_manage and costs.ref != 0,
            "budget_url": reverse("project_budget", args=[organization.slug, project]),
            **_range_context(organization, cost_range, here),
        },
        status=status,
    )


@login_required
@require_POST
def project_budget(request: HtmxHttpRequest, org: str, project: str) -> HttpResponse:
    """Set or clear the project's monthly budget (owners and admins)."""
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    if project == figures.NO_PROJECT:
        raise Http404("Jobs without a project have no budget")
    try:
        target = Project.objects.get(organization=organization, pixxel_id=project)
    except Project.DoesNotExist:
        raise Http404("No such project") from None
    form = BudgetForm(request.POST)
    if not form.is_valid():
        # The page again, the typed amount kept and the error beside it.
        return _project_page(request, organization, membership, project, form, status=400)
    set_budget(organization, target, form.amount, request.user)
    name = target.name or target.pixxel_id
    if form.cleaned_data.get("action") == CLEAR:
        messages.success(request, f"Cleared the monthly budget of {name}.")
    else:
        messages.success(request, f"{name}'s monthly budget is now {form.amount:,.2f} credits.")
    return redirect(reverse("project_costs", args=[organization.slug, project]))


@login_required
@require_GET
def cost_ledger_csv(request: HtmxHttpRequest, org: str) -> StreamingHttpResponse:
    """One line per job of the range, streamed in constant memory."""
    organization, membership = get_org_for_user(request, org)
    cost_range = _range(request, organization)
    filename = (
        f"{organization.slug}-costs-{cost_range.since.isoformat()}-to-"
        f"{cost_range.until.isoformat()}.csv"
    )
    return StreamingHttpResponse(
        figures.ledger_lines(organization, cost_range),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition_header(True, filename)},
    )
