"""One bound for a limit value on every channel (SPEC §4): the API schema, the service's
validation (and the hub forms, whose fields take `max_value=MAX_LIMIT_VALUE`) take
exactly the same values."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from partnerhub.core.errors import ValidationFailed
from partnerhub.core.limits import MAX_LIMIT_VALUE
from partnerhub.core.schemas import LimitValue
from partnerhub.core.validation import clean_limits

API: TypeAdapter[int | None] = TypeAdapter(LimitValue)


def test_the_highest_limit_value_is_taken_everywhere_and_one_more_nowhere() -> None:
    assert API.validate_python(MAX_LIMIT_VALUE) == MAX_LIMIT_VALUE
    assert clean_limits({"messages": MAX_LIMIT_VALUE}, "limits", {"messages"}) == {
        "messages": MAX_LIMIT_VALUE
    }
    with pytest.raises(ValidationError):
        API.validate_python(MAX_LIMIT_VALUE + 1)
    with pytest.raises(ValidationFailed):
        clean_limits({"messages": MAX_LIMIT_VALUE + 1}, "limits", {"messages"})
