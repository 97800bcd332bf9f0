"""Connections page: instances with their last check, profiles, and the test button."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .models import ConnectionProfile, Instance
from .services import test_connection


@login_required
@permission_required("connections.view_instance", raise_exception=True)
def connection_list(request: HttpRequest) -> HttpResponse:
    """Instances and profiles, each searchable (by name or URL) and 25 a page."""
    instances = Instance.objects.all()
    profiles = ConnectionProfile.objects.select_related("source", "destination")
    q = request.GET.get("q", "").strip()
    if q:
        instances = instances.filter(Q(name__icontains=q) | Q(base_url__icontains=q))
        profiles = profiles.filter(
            Q(name__icontains=q) | Q(source__name__icontains=q) | Q(destination__name__icontains=q)
        )
    instance_page = Paginator(instances, 25).get_page(request.GET.get("page"))
    profile_page = Paginator(profiles, 25).get_page(request.GET.get("ppage"))
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
