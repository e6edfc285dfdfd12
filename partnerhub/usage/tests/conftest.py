"""Usage tests reuse the API tests' keys and JSON client, and the browser tests' catalog
re-seed (transactional tests flush the seeded catalog)."""

from partnerhub.api.tests.conftest import api, keys  # noqa: F401
from partnerhub.web.tests.conftest import catalog_seeded  # noqa: F401
