"""Sales tests reuse the API tests' keys and JSON client."""

from partnerhub.api.tests.conftest import api, keys  # noqa: F401
