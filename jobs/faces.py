"""What every face does around an operation's start function, written once.

An API action, a page's run button and an admin action each call `start_<op>()` and then say
the same things: the new run (202, a redirect to its page, "queued as run #n"), or why there
is none. `jobs.services.Busy` is a 409 with `Busy.body()`, a run that cannot be resumed
(`jobs.resume.NotResumable`) a 400 `{"run": [message]}`, and on pages and in the admin both
are a warning. These helpers take the start call as a callable, so each face still names the
operation's own start function and its own options; nothing here knows an operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import decorators, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .models import Run
from .resume import NotResumable
from .services import Busy

T = TypeVar("T")

#: The 202 answer of every API action that starts a run.
RUN_RESPONSE = inline_serializer("RunStarted", {"run": serializers.IntegerField()})


# --- API ------------------------------------------------------------------------------------
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


class RunActionsMixin:
    """`POST {id}/run/` (`dry_run`, `full`) and `POST {id}/resume/` (`run`) for a viewset of a
    resumable operation (aggregate and event transfers).

    The viewset says which codenames launching needs (`launch_perms`) and which start function
    to call (`start_run`); both actions are a launch, so `initial` sets their permissions
    before DRF checks them (an `@action` here cannot know the viewset's model).
    """

    launch_perms: list[str]
    required_perms: list[str] | None
    # DRF's name of the current action (set by the router). The decorator is used as
    # `decorators.action` so that this attribute does not shadow it in the class body.
    action: str | None

    def start_run(self, obj: Any, **options: Any) -> Run:
        raise NotImplementedError

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if self.action in ("run", "resume"):
            self.required_perms = list(self.launch_perms)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    @extend_schema(request=RunRequestSerializer, responses={202: RUN_RESPONSE})
    @decorators.action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        """Start a run (`dry_run`: validate on the destination, write nothing); 409 while one
        is queued or running."""
        body = RunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        obj = self.get_object()  # type: ignore[attr-defined]  # GenericAPIView's
        options = body.validated_data
        return api_start(
            lambda: self.start_run(obj, user=request.user, trigger=Run.Trigger.API, **options)
        )

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
        return api_start(
            lambda: self.start_run(
                obj, user=request.user, trigger=Run.Trigger.API, resume_of=previous
            )
        )


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
    return page_start(
        request,
        lambda: start(
            obj,
            user=request.user,
            trigger=Run.Trigger.WEB,
            dry_run=request.POST.get("dry_run") == "1",
            full=request.POST.get("full") == "1",
            resume_of=resume_of,
        ),
        back=back,
    )


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
