"""Tasks declared with django.tasks; run by the django-tasks-db worker."""

from __future__ import annotations

from django.tasks import task


@task()
def run_recalculation(job_id: int) -> None:
    # Imported here, not at the top: recalc imports this module (to re-enqueue a job).
    from partnerhub.fees.recalc import recalculation_run

    recalculation_run(job_id=job_id)
