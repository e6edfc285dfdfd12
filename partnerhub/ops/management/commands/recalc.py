"""`partnerhub recalc`: enqueue, run or resume fee recalculation jobs from the command line."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from partnerhub.core.actor import SYSTEM
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.fees.models import RecalcJob
from partnerhub.fees.recalc import recalculation_resume_all, recalculation_run
from partnerhub.plans.models import Plan


class Command(BaseCommand):
    help = (
        "Fee recalculation jobs: --plan ID enqueues one for a plan (--now runs it here), "
        "--resume finishes every unfinished job whose worker is gone, --job ID shows one."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument(
            "--plan", type=int, help="recalculate every item of the plan's companies"
        )
        group.add_argument("--resume", action="store_true", help="finish unfinished jobs here")
        group.add_argument("--job", type=int, help="print a job's progress")
        parser.add_argument("--now", action="store_true", help="with --plan: run in this process")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["resume"]:
            ended = recalculation_resume_all()
            for job in ended:
                self._print(job)
            if not ended:
                self.stdout.write("No unfinished jobs.")
            return
        if options["job"]:
            found = RecalcJob.objects.filter(pk=options["job"]).first()
            if found is None:
                raise CommandError(f"No job {options['job']}.")
            self._print(found)
            return
        plan = Plan.objects.filter(pk=options["plan"]).first()
        if plan is None:
            raise CommandError(f"No plan {options['plan']}.")
        with transaction.atomic():
            job = recalculation_enqueue(
                actor=SYSTEM,
                reseller_id=plan.reseller_id,
                plan_id=plan.pk,
                reason=f"partnerhub recalc --plan {plan.pk}",
            )
        self.stdout.write(f"Enqueued job {job.pk} for plan {plan.name!r}.")
        if options["now"]:
            ran = recalculation_run(job_id=job.pk)
            if ran is not None:
                self._print(ran)

    def _print(self, job: RecalcJob) -> None:
        self.stdout.write(
            f"job {job.pk}: {job.status}; companies {job.companies_done}/{job.companies_total}, "
            f"items {job.items_done}/{job.items_total}"
            + (f"; error: {job.error}" if job.error else "")
        )
