"""Job handlers used only by the tests, registered into KINDS with monkeypatch."""

from __future__ import annotations

from jobs.context import RunContext
from jobs.models import Run


def ok(ctx: RunContext) -> None:
    ctx.info(f"hello {ctx.params.get('name', 'world')}")
    ctx.incr(items=3)
    ctx.progress(50, "halfway", force=True)


def warn(ctx: RunContext) -> str:
    ctx.warning("something to look at")
    return Run.Status.WARNING


def boom(ctx: RunContext) -> None:
    ctx.info("about to fail")
    raise RuntimeError("The destination refused the data set: it does not exist.")


def cancelled_midway(ctx: RunContext) -> None:
    for step in range(10):
        if step == 3:
            # What a user's cancel request does while the run is in progress.
            Run.objects.filter(pk=ctx.run_id).update(cancel_requested=True)
        ctx.incr(steps=1)
        ctx.progress(step * 10, f"step {step}", force=True)
    raise AssertionError("the handler should have been stopped at step 3")
