from partnerhub.companies.models import Company


def test_personas_are_two_separate_tenants(personas):
    assert personas.company_a.reseller_id == personas.reseller_a.pk
    assert personas.admin_b.reseller_id != personas.admin_a.reseller_id
    assert Company.objects.filter(reseller=personas.reseller_b).count() == 0
