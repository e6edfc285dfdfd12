"""The fee apply choice (fees/apply.py): one error type, one job rule, one set of labels."""

from __future__ import annotations

import pytest

from partnerhub.core.errors import ValidationFailed
from partnerhub.fees.apply import (
    APPLY_ALL,
    APPLY_NEW,
    FEE_APPLY_CHOICES,
    FeeApplyModeRequired,
    fee_change_job,
)
from partnerhub.fees.models import RecalcJob
from partnerhub.testing.factories import CompanyFactory, PlanFactory


def test_a_missing_choice_is_a_422_on_fee_apply_mode(personas):
    with pytest.raises(FeeApplyModeRequired) as err:
        fee_change_job(
            actor=personas.admin_a,
            reseller_id=personas.reseller_a.pk,
            recalculation="ask",
            fee_apply_mode=None,
            reason="test",
            company_ids=[personas.company_a.pk],
        )
    assert isinstance(err.value, ValidationFailed) and err.value.status == 422
    assert list(err.value.details) == ["fee_apply_mode"]
    assert not RecalcJob.objects.exists()


def test_a_choice_that_is_neither_all_nor_new_is_refused_the_same_way(personas):
    with pytest.raises(FeeApplyModeRequired) as err:
        fee_change_job(
            actor=personas.admin_a,
            reseller_id=personas.reseller_a.pk,
            recalculation="none",
            fee_apply_mode="later",
            reason="test",
            company_ids=[personas.company_a.pk],
        )
    assert err.value.details == {"fee_apply_mode": ["must be 'all' or 'new'"]}


@pytest.mark.parametrize(
    ("recalculation", "mode", "job_expected"),
    [
        ("none", None, False),
        ("none", "all", False),
        ("ask", "new", False),
        ("ask", "all", True),
        ("forced", None, True),
        ("forced", "new", True),
    ],
)
def test_the_choice_decides_whether_a_job_is_enqueued(personas, recalculation, mode, job_expected):
    job = fee_change_job(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        recalculation=recalculation,
        fee_apply_mode=mode,
        reason="test",
        company_ids=[personas.company_a.pk],
    )
    assert (job is not None) == job_expected
    assert RecalcJob.objects.count() == int(job_expected)
    if job is not None:
        assert job.company_ids == [personas.company_a.pk]


def test_a_plan_whose_fees_no_company_uses_gets_no_job_but_is_still_asked(personas):
    plan = PlanFactory(reseller=personas.reseller_a)
    CompanyFactory(reseller=personas.reseller_a, plan=plan, use_plan_fees=False)
    kwargs = {
        "actor": personas.admin_a,
        "reseller_id": personas.reseller_a.pk,
        "recalculation": "ask",
        "reason": "test",
        "plan_id": plan.pk,
    }
    with pytest.raises(FeeApplyModeRequired):
        fee_change_job(fee_apply_mode=None, **kwargs)
    assert fee_change_job(fee_apply_mode="all", **kwargs) is None

    on_plan_fees = CompanyFactory(reseller=personas.reseller_a, plan=plan, use_plan_fees=True)
    job = fee_change_job(fee_apply_mode="all", **kwargs)
    assert job is not None and job.company_ids == [on_plan_fees.pk]


def test_the_labels_are_the_seed_wording_and_every_hub_form_offers_them():
    from partnerhub.companies.forms import CompanyForm
    from partnerhub.plans.forms import PlanForm
    from partnerhub.resellers.forms import ResellerForm

    assert FEE_APPLY_CHOICES == [("all", APPLY_ALL), ("new", APPLY_NEW)]
    assert APPLY_ALL == "Apply to all items (old and new)"
    assert APPLY_NEW == "Apply only to new/edited items"
    for form_class in (PlanForm, CompanyForm, ResellerForm):
        assert form_class.base_fields["fee_apply_mode"].choices == FEE_APPLY_CHOICES


def test_a_fee_apply_mode_inside_reseller_changes_is_an_unknown_field(personas):
    from partnerhub.resellers.services import reseller_update

    with pytest.raises(ValidationFailed) as err:
        reseller_update(
            actor=personas.admin_a,
            reseller_id=personas.reseller_a.pk,
            changes={"fee_apply_mode": "all"},
        )
    assert "fee_apply_mode" in err.value.details
    assert not isinstance(err.value, FeeApplyModeRequired)
