"""The one module that hands work to django-q2. Only ids cross the queue, never secrets."""

from __future__ import annotations

from django_q.tasks import async_task

from .models import Run


def enqueue_run(run_id: int) -> None:
    task_id = async_task("jobs.tasks.execute_run", run_id, task_name=f"run-{run_id}", group="runs")
    if task_id:
        Run.objects.filter(pk=run_id).update(task_id=str(task_id)[:64])
