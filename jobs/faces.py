"""What every face does around an operation's start function, written once.

An API action, a page's run button and an admin action each call `start_<op>()` and then say
the same things: the new run (202, a redirect to its page, "queued as run #n"), or why there
is none. `jobs.services.Busy` is a 409 with `Busy.body()`, a run that cannot be resumed
(`jobs.resume.NotResumable`) a 400 `{"run": [message]}`, and on pages and in the admin both
are a warning. These helpers take the start call as a callable, so each face still names the
operation's own start function and its own options; nothing here knows an operation.

The faces of the jobs also share what lies around their save services and lists: a serializer
or form only parses and puts a service's `ValidationError` back on its fields, a list page
searches and pages the same way, and a job's "new" and "edit" pages differ only in the object.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import decorators, mixins, serializers, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Run
from .resume import NotResumable
from .services import Busy

T = TypeVar("T")
M = TypeVar("M", bound=Model)

#: The 202 answer of every API action that starts a run.
RUN_RESPONSE = inline_serializer("RunStarted", {"run": serializers.IntegerField()})


# --- API ------------------------------------------------------------------------------------
# The base classes below that serializers and viewsets inherit are explained in comments, not
# docstrings: drf-spectacular would publish a base class's docstring as the description of
# every endpoint and schema component built on it.
class RunRequestSerializer(serializers.Serializer[None]):
    dry_run = serializers.BooleanField(default=False)
    full = serializers.BooleanField(
        default=False, help_text="Incremental transfers: ignore the watermark, send everything."
    )


class ResumeRequestSerializer(serializers.Serializer[None]):
    run = serializers.IntegerField(help_text="The failed or cancelled run to continue.")


def api_start(start: Callable[[], Run]) -> Response:
    """Call `start` and answer as every run-starting endpoint does: 202 `{"run": id}`, 409
    `Busy.body()` while the job is active, 400 `{"run": [why]}` for a run it cannot resume."""
    try:
        run = start()
    except Busy as exc:
        return Response(exc.body(), status=409)
    except NotResumable as exc:
        return Response({"run": [str(exc)]}, status=400)
    return Response({"run": run.pk}, status=202)


def api_launch(request: Request, start: Callable[..., Run], obj: Any, **options: Any) -> Response:
    """`start(obj, **options)` for the request's user from the API, answered by `api_start`."""
    return api_start(lambda: start(obj, user=request.user, trigger=Run.Trigger.API, **options))


# For a viewset some of whose actions launch a run (`launch_actions`): those need the
# codenames `launch_perms` (e.g. `jobs.launch_run`) instead of the model's permission for
# the HTTP method. `initial` sets them before DRF checks permissions, since a launch is
# neither a router action nor an `@action` of the viewset's own.
class LaunchPermsMixin:
    launch_actions: tuple[str, ...] = ()
    launch_perms: list[str]
    required_perms: list[str] | None
    # DRF's name of the current action (set by the router).
    action: str

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if self.action in self.launch_actions:
            self.required_perms = list(self.launch_perms)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


class RunActionsMixin(LaunchPermsMixin):
    """`POST {id}/run/` (`dry_run`, `full`) and `POST {id}/resume/` (`run`) for a viewset of a
    resumable operation (aggregate and event transfers).

    The viewset says which codenames launching needs (`launch_perms`) and which start function
    to call (`start_run`); both actions are a launch, so `initial` sets their permissions
    before DRF checks them (an `@action` here cannot know the viewset's model).
    """

    launch_actions = ("run", "resume")

    def start_run(self, obj: Any, **options: Any) -> Run:
        raise NotImplementedError

    @extend_schema(request=RunRequestSerializer, responses={202: RUN_RESPONSE})
    @decorators.action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        """Start a run (`dry_run`: validate on the destination, write nothing); 409 while one
        is queued or running."""
        body = RunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        obj = self.get_object()  # type: ignore[attr-defined]  # GenericAPIView's
        return api_launch(request, self.start_run, obj, **body.validated_data)

    @extend_schema(request=ResumeRequestSerializer, responses={202: RUN_RESPONSE})
    @decorators.action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Continue a failed or cancelled run: what it sent is not sent again; 400 for a run
        that cannot be resumed, 409 while a run is queued or running."""
        body = ResumeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        obj = self.get_object()  # type: ignore[attr-defined]
        previous = Run.objects.filter(pk=body.validated_data["run"]).first()
        if previous is None:
            return Response({"run": ["There is no such run."]}, status=400)
        return api_launch(request, self.start_run, obj, resume_of=previous)


# For a `ModelSerializer` that only parses: create and update are one call of the app's
# save service (`save_with`, given None for a new object and the request's user), and the
# service's Django `ValidationError` becomes DRF's 400 as `field_errors` words it (by
# default the service's field dict as it is).
class SavedByServiceMixin:
    context: dict[str, Any]  # Serializer's

    def save_with(self, obj: Any, data: dict[str, Any], *, user: Any) -> Any:
        raise NotImplementedError

    def field_errors(self, exc: ValidationError) -> serializers.ValidationError:
        return serializers.ValidationError(exc.message_dict)

    def _saved(self, obj: Any, data: dict[str, Any]) -> Any:
        user = getattr(self.context.get("request"), "user", None)
        try:
            return self.save_with(obj, data, user=user)
        except ValidationError as exc:
            raise self.field_errors(exc) from exc

    def create(self, validated_data: dict[str, Any]) -> Any:
        return self._saved(None, validated_data)

    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        return self._saved(instance, validated_data)


# A job's configuration (a transfer, an event transfer): saved by its service, and read
# with the status of its last run.
class JobSerializer(SavedByServiceMixin, serializers.ModelSerializer[Any]):
    # A method, not `source="last_run.status"`: DRF skips a dotted field whose default it
    # would need on a PATCH (partial), and the answer then lacked this documented key.
    last_run_status = serializers.SerializerMethodField()

    def get_last_run_status(self, obj: Any) -> str | None:
        return obj.last_run.status if obj.last_run_id else None


# The API of an assessment, the record its runs fill: list, read and delete them. The
# subclass's own `create` starts the first run, so it needs `launch_perms`, not the model's
# add permission (an assessment is a run's record, not configuration).
class LaunchedRecordViewSet(
    LaunchPermsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Any],
):
    launch_actions = ("create",)
    required_perms: list[str] | None = None


class ResultsPagination(PageNumberPagination):
    """Pages of an assessment's results or items (`?page=`, `?page_size=` up to 500)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


#: The query parameters of `ResultsPagination`, for an action's `extend_schema`.
PAGE_PARAMETERS = [OpenApiParameter("page", int), OpenApiParameter("page_size", int)]


def paginated(
    view: APIView,
    request: Request,
    rows: QuerySet[Any],
    serializer: type[serializers.Serializer[Any]],
) -> Response:
    """One `ResultsPagination` page of `rows` of a detail action, each row by `serializer`."""
    paginator = ResultsPagination()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


# --- pages ----------------------------------------------------------------------------------
def page_start(request: HttpRequest, start: Callable[[], Run], *, back: str) -> HttpResponse:
    """Call `start` from a page's button: off to the new run's page, or back to `back` (a URL)
    with why there is no run as a warning (busy, not resumable, refused by the service)."""
    try:
        run = start()
    except (Busy, NotResumable) as exc:
        messages.warning(request, str(exc))
        return redirect(back)
    except ValidationError as exc:
        for message in exc.messages:
            messages.warning(request, message)
        return redirect(back)
    return redirect("run-detail", pk=run.pk)


def page_launch(
    request: HttpRequest, start: Callable[..., Run], obj: Any, *, back: str, **options: Any
) -> HttpResponse:
    """`start(obj, **options)` for the request's user from a page, answered by `page_start`."""
    return page_start(
        request,
        lambda: start(obj, user=request.user, trigger=Run.Trigger.WEB, **options),
        back=back,
    )


def page_run(
    request: HttpRequest, obj: Any, start: Callable[..., Run], *, back: str
) -> HttpResponse:
    """The run buttons of a resumable job's page: POST `dry_run`, `full` ("1") or `resume_of`
    (a run id) start `start(obj, ...)` through `page_start`."""
    resume_of = None
    if request.POST.get("resume_of"):
        if not request.POST["resume_of"].isdigit():
            messages.warning(request, "Choose a run to resume.")
            return redirect(back)
        resume_of = get_object_or_404(Run, pk=int(request.POST["resume_of"]))
    return page_launch(
        request,
        start,
        obj,
        back=back,
        dry_run=request.POST.get("dry_run") == "1",
        full=request.POST.get("full") == "1",
        resume_of=resume_of,
    )


def launch_view(
    model: type[M],
    start: Callable[..., Run],
    *,
    back: str,
    perms: str | Sequence[str] | None = None,
    resumable: bool = False,
) -> Callable[[HttpRequest, int], HttpResponse]:
    """The run button of an operation's page: a POST that starts `start` on the `model` object
    of the URL's pk, for a user with `perms` (by default: may view the model and launch runs),
    and answers as `page_launch` does, back to the page the URL name `back` gives for that pk.
    A `resumable` job's button also takes the options of `page_run`."""
    if perms is None:
        opts = model._meta
        perms = [f"{opts.app_label}.view_{opts.model_name}", "jobs.launch_run"]

    @login_required
    @permission_required(perms, raise_exception=True)
    @require_POST
    def launch(request: HttpRequest, pk: int) -> HttpResponse:
        obj = get_object_or_404(model, pk=pk)
        url = reverse(back, args=[pk])
        if resumable:
            return page_run(request, obj, start, back=url)
        return page_launch(request, start, obj, back=url)

    return launch


_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def spreadsheet_cell(value: Any) -> str:
    """Neutralise text a spreadsheet would run as a formula (values and messages come from
    DHIS2); a number keeps its sign."""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_download(
    filename: str, columns: Sequence[str], rows: Iterable[Iterable[Any]]
) -> HttpResponse:
    """`rows` under a header of `columns` as a CSV attachment, every value a `spreadsheet_cell`."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet_cell(v) for v in row])
    return response


def run_rows_csv(
    model: type[Model], columns: Sequence[str], name: str
) -> Callable[[HttpRequest, int], HttpResponse]:
    """The CSV download of a run's `model` rows (conflicts, event errors): their `columns`,
    as `run-<id>-<name>.csv`, for a user who may view that model. The rows are streamed from
    the database, as a run may have many."""
    opts = model._meta

    @login_required
    @permission_required(f"{opts.app_label}.view_{opts.model_name}", raise_exception=True)
    def download(request: HttpRequest, run_id: int) -> HttpResponse:
        run = get_object_or_404(Run, pk=run_id)
        rows = model._default_manager.filter(run=run).values_list(*columns).iterator()
        return csv_download(f"run-{run.pk}-{name}.csv", columns, rows)

    return download


def add_and_change_views(
    model: type[M], edit: Callable[[HttpRequest, M | None], HttpResponse]
) -> tuple[Callable[[HttpRequest], HttpResponse], Callable[[HttpRequest, int], HttpResponse]]:
    """The "new" and "edit" pages of `model`: both are `edit(request, obj)` (None for a new
    one), and they need the model's add and change permission."""
    opts = model._meta

    @login_required
    @permission_required(f"{opts.app_label}.add_{opts.model_name}", raise_exception=True)
    def create(request: HttpRequest) -> HttpResponse:
        return edit(request, None)

    @login_required
    @permission_required(f"{opts.app_label}.change_{opts.model_name}", raise_exception=True)
    def change(request: HttpRequest, pk: int) -> HttpResponse:
        return edit(request, get_object_or_404(model, pk=pk))

    return create, change


#: A job's connection profile and its two instances, by name (what the job lists search).
PROFILE_NAMES = ("profile__name", "profile__source__name", "profile__destination__name")


def search_match(
    q: str, *, contains: Iterable[str] = (), equals: Iterable[str] = (), numbered: bool = False
) -> Q:
    """What a list's search box matches: `q` in any field of `contains`, exactly any field of
    `equals` (UIDs), and with `numbered` an object's number ("42" or "#42")."""
    match = Q()
    for name in contains:
        match |= Q(**{f"{name}__icontains": q})
    for name in equals:
        match |= Q(**{name: q})
    if numbered and q.lstrip("#").isdigit():
        match |= Q(pk=int(q.lstrip("#")))
    return match


def searched_page(
    request: HttpRequest,
    objects: QuerySet[M],
    *,
    per_page: int = 25,
    page_param: str = "page",
    contains: Iterable[str] = (),
    equals: Iterable[str] = (),
    numbered: bool = False,
) -> tuple[Page[M], str]:
    """The page of `objects` a list shows and the search it shows it for: the `q` of the
    request, matched as `search_match` says, and the page `page_param` names."""
    q = request.GET.get("q", "").strip()
    if q:
        objects = objects.filter(
            search_match(q, contains=contains, equals=equals, numbered=numbered)
        )
    return Paginator(objects, per_page).get_page(request.GET.get(page_param)), q


# --- forms ----------------------------------------------------------------------------------
_SPLIT = re.compile(r"[\s,;]+")


def tokens(text: str | None) -> list[str]:
    """The UIDs (or period ids) of a text input, separated by spaces, commas or semicolons, as
    the pickers write them and people type them."""
    return [t for t in _SPLIT.split(text or "") if t]


def lines_field(label: str, help_text: str, *, required: bool = False) -> forms.CharField:
    """A two-line text input of a list (UIDs, periods, source=destination pairs): the page's
    pickers fill it, and it still works without JavaScript."""
    return forms.CharField(
        label=label,
        required=required,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=help_text,
    )


def show_service_errors(
    form: forms.BaseForm,
    errors: Mapping[str, Iterable[str]],
    *,
    inputs: Mapping[str, str] | None = None,
) -> None:
    """Put a save service's field errors on the form: on the input a field is typed into
    (`inputs`: service field -> form field), else on the field of that name, else on the form
    as a whole."""
    for key, messages_ in errors.items():
        name = (inputs or {}).get(key, key)
        form.add_error(name if name in form.fields else None, list(messages_))


# --- admin ----------------------------------------------------------------------------------
class LaunchAdminMixin:
    """For a `ModelAdmin` whose actions start runs: the `launch` action permission
    (`@admin.action(permissions=["launch"])`) and the loop those actions share."""

    def has_launch_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.launch_run")

    def start_runs(
        self,
        request: HttpRequest,
        objects: Iterable[T],
        start: Callable[..., Run],
        *,
        name: Callable[[T], str] = str,
        **options: Any,
    ) -> None:
        """Start a run of each object; say which were queued and which were busy."""
        for obj in objects:
            try:
                run = start(obj, user=request.user, trigger=Run.Trigger.ADMIN, **options)
            except Busy as exc:
                self.message_user(  # type: ignore[attr-defined]  # ModelAdmin's
                    request, f"{name(obj)}: {exc}", messages.WARNING
                )
                continue
            self.message_user(  # type: ignore[attr-defined]
                request, f"{name(obj)}: queued as run #{run.pk}.", messages.SUCCESS
            )
