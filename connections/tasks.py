"""Job bodies of the connections app."""

from __future__ import annotations

from jobs.context import RunContext
from jobs.models import Run

from .models import Instance
from .services import test_connection


def check_connection(ctx: RunContext) -> str:
    """The `connection_check` job: test one instance (or every instance) and log the outcome."""
    ids = ctx.params.get("instance_ids") or list(Instance.objects.values_list("pk", flat=True))
    instances = list(Instance.objects.filter(pk__in=ids).order_by("name"))
    if not instances:
        raise ValueError("There is no instance to check.")
    failures = 0
    for i, instance in enumerate(instances, start=1):
        result = test_connection(instance)
        if result.ok:
            ctx.info(f"{instance.name}: {result.message}")
        else:
            failures += 1
            ctx.error(f"{instance.name}: {result.message}")
        ctx.progress(100 * i / len(instances), f"Checked {i} of {len(instances)}")
    ctx.stats.update(checked=len(instances), failed=failures)
    if failures == len(instances):
        raise RuntimeError(f"None of the {len(instances)} instances answered correctly.")
    return Run.Status.WARNING if failures else Run.Status.SUCCEEDED
