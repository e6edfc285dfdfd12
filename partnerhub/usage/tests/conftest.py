"""Usage tests reuse the API tests' keys and JSON client, and the browser tests' catalog
re-seed."""

from partnerhub.api.tests.conftest import api, keys  # noqa: F401
