"""Benchmark: the server time of the main hub pages on the demo data (issue 13 kept them fast).

Loads the demo data into a scratch SQLite database (`partnerhub demo`'s loader) and times
each page in-process with Django's test client: 2 warm-up GETs, then the median of 15.
Prints one JSON object {page: median ms}. For a same-run ratio, run it alternately on
this tree and on a `git archive` of the commit before the change, with the same venv:

    root=$PWD d=$(mktemp -d); PARTNERHUB_DEV=1 DEBUG=0 PARTNERHUB_DATA_DIR=$d \\
      DATABASE_URL=sqlite:///$d/db.sqlite3 DJANGO_SETTINGS_MODULE=partnerhub.settings \\
      sh -c '.venv/bin/python -m django migrate -v 0 && .venv/bin/python -m bench.hub_pages'
"""

from __future__ import annotations

import json
import re
import statistics
import time

import django


def main() -> None:
    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from partnerhub.companies.models import Company
    from partnerhub.ops.demo_data import demo_data_load
    from partnerhub.plans.models import Plan
    from partnerhub.resellers.models import Reseller

    demo_data_load()
    users = get_user_model().objects
    admin, operator = Client(), Client()
    admin.force_login(users.get(username="northwind-admin"))
    operator.force_login(users.get(username="operator"))
    plan = Plan.objects.filter(reseller__slug="northwind").order_by("id").first()
    company = Company.objects.filter(reseller__slug="northwind").order_by("id").first()
    reseller = Reseller.objects.get(slug="northwind")
    assert plan is not None and company is not None
    pages = [
        (admin, "/plans/"),
        (admin, "/plans/new/"),
        (admin, f"/plans/{plan.pk}/"),
        (admin, "/companies/"),
        (admin, f"/companies/{company.pk}/"),
        (admin, f"/companies/{company.pk}/sale-items/"),
        (admin, "/jobs/"),
        (admin, "/audit/"),
        (admin, "/api-keys/"),
        (operator, "/api-keys/"),
        (operator, f"/resellers/{reseller.pk}/"),
        (operator, "/catalog/"),
    ]
    medians: dict[str, float] = {}
    for client, path in pages:
        for _ in range(2):
            client.get(path)
        times = []
        for _ in range(15):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        key = ("operator " if client is operator else "") + re.sub(r"/\d+/", "/<id>/", path)
        medians[key] = round(statistics.median(times), 1)
    print(json.dumps(medians))


if __name__ == "__main__":
    main()
