"""Connections page: instances with their last check, profiles, and the test button."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from jobs.faces import searched_page

from .models import ConnectionProfile, Instance
from .services import test_connection


@login_required
@permission_required("connections.view_instance", raise_exception=True)
def connection_list(request: HttpRequest) -> HttpResponse:
    """Instances and profiles, each searchable (by name or URL) and 25 a page."""
    instance_page, q = searched_page(request, Instance.objects.all(), contains=("name", "base_url"))
    profile_page, _ = searched_page(
        request,
        ConnectionProfile.objects.select_related("source", "destination"),
        page_param="ppage",
        contains=("name", "source__name", "destination__name"),
    )
    context = {
        "instances": instance_page.object_list,
        "profiles": profile_page.object_list,
        "instance_page": instance_page,
        "profile_page": profile_page,
        "q": q,
    }
    return render(request, "connections/list.html", context)


@login_required
@permission_required("connections.test_instance", raise_exception=True)
@require_POST
def instance_test(request: HttpRequest, pk: int) -> HttpResponse:
    instance = get_object_or_404(Instance, pk=pk)
    result = test_connection(instance)
    (messages.success if result.ok else messages.error)(
        request, f"{instance.name}: {result.message}"
    )
    return redirect("connections")
