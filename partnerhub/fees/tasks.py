"""Tasks declared with django.tasks; run by the django-tasks-db worker.

The task's path (`partnerhub.fees.tasks.run_recalculation`) is stored on every queued
task row, so it stays here; fees/jobs.py enqueues it.
"""

from __future__ import annotations

from django.tasks import task

from partnerhub.fees.recalc import recalculation_run


@task()
def run_recalculation(job_id: int) -> None:
    recalculation_run(job_id=job_id)
