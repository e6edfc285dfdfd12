"""REST API: company and reseller statements (SPEC §15). Read-only: statements are made by
the sales, the subscriptions and the close job, never written through the API."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import StringConstraints

from partnerhub.accounts.api_auth import actor_of
from partnerhub.core.schemas import ObjectId, OutputSchema, responses
from partnerhub.statements.models import Statement
from partnerhub.statements.selectors import (
    CSV_COLUMNS,
    company_statements_for_actor,
    reseller_statements_for_actor,
    statement_csv,
    statement_get_for_actor,
)

router = Router(tags=["statements"])

# Months of this century and the next: statements begin in 2026 and periods are walked
# from a company's start, so a year 0 or 9999 is a client error, not a long walk.
Month = Annotated[str, StringConstraints(pattern=r"^2[01]\d{2}-(0[1-9]|1[0-2])$")]
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


class StatementLineOut(OutputSchema):
    seq: int
    kind: str
    description: str
    company_id: int | None
    plan_id: int | None
    fee_type: str
    quantity: int = Field(description="Units sold (fee lines) or days (proration).")
    net_minor: int
    gst_minor: int
    gross_minor: int
    reseller_fee_minor: int
    gateway_fee_minor: int
    reseller_share_minor: int
    platform_share_minor: int


class StatementOut(OutputSchema):
    id: int
    kind: Literal["company", "reseller"]
    status: Literal["draft", "closed"]
    reseller_id: int
    company_id: int | None
    currency: str
    period_start: date
    period_end: date = Field(description="Exclusive: the next period's first day.")
    number: int | None
    net_minor: int
    gst_minor: int
    gross_minor: int
    gateway_fees_minor: int
    reseller_share_minor: int
    platform_share_minor: int
    computed_at: datetime
    closed_at: datetime | None


class StatementDetailOut(StatementOut):
    lines: list[StatementLineOut]


class StatementList(OutputSchema):
    items: list[StatementOut]


class ResellerStatementList(OutputSchema):
    month: str
    items: list[StatementDetailOut]


class FormatParams(Schema):
    format: Literal["json", "csv"] = Field(
        default="json", description="csv: one row per statement line, amounts in major units."
    )


class ResellerParams(FormatParams):
    month: Month | None = Field(
        default=None, description="YYYY-MM (2000-01 to 2199-12); default: this month."
    )


_FIELDS = list(StatementOut.model_fields)
_LINE_FIELDS = list(StatementLineOut.model_fields)


def statement_serialize(statement: Statement, *, lines: bool = False) -> dict[str, Any]:
    body = {name: getattr(statement, name) for name in _FIELDS}
    if lines:
        body["lines"] = [
            {name: getattr(line, name) for name in _LINE_FIELDS} for line in statement.lines.all()
        ]
    return body


def _csv_response(statements: list[Statement], filename: str) -> HttpResponse:
    prefetch_related_objects(statements, "lines")  # one query for every statement's lines
    text = "".join(
        statement_csv(s).split("\n", 1)[1] if i else statement_csv(s)
        for i, s in enumerate(statements)
    )
    response = HttpResponse(text or ",".join(CSV_COLUMNS) + "\n", content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


CSV_DOC = {"content": {"text/csv": {"schema": {"type": "string"}}}}


@router.get(
    "/companies/{company_id}/statements",
    response=responses({200: StatementList}),
    openapi_extra={"responses": {200: CSV_DOC}},
)
def list_company_statements(
    request: HttpRequest, company_id: ObjectId, params: Query[FormatParams]
) -> Any:
    """The company's statements, newest period first: the open period's draft (recomputed
    on read) and every closed one."""
    statements = company_statements_for_actor(actor_of(request), company_id)
    if params.format == "csv":
        return _csv_response(statements, f"company-{company_id}-statements.csv")
    return {"items": [statement_serialize(s) for s in statements]}


@router.get(
    "/statements/{statement_id}",
    response=responses({200: StatementDetailOut}),
    openapi_extra={"responses": {200: CSV_DOC}},
)
def get_statement(request: HttpRequest, statement_id: ObjectId, params: Query[FormatParams]) -> Any:
    """A statement with its lines; `?format=csv` for one row per line."""
    statement = statement_get_for_actor(actor_of(request), statement_id)
    if params.format == "csv":
        return _csv_response([statement], f"statement-{statement.pk}.csv")
    return statement_serialize(statement, lines=True)


def _month(value: str | None) -> date:
    if value is None:
        return timezone.now().date().replace(day=1)
    match = MONTH_RE.match(value)
    assert match is not None  # the parameter's pattern checked it
    return date(int(match[1]), int(match[2]), 1)


@router.get(
    "/resellers/{reseller_id}/statements",
    response=responses({200: ResellerStatementList}),
    openapi_extra={"responses": {200: CSV_DOC}},
)
def list_reseller_statements(
    request: HttpRequest, reseller_id: ObjectId, params: Query[ResellerParams]
) -> Any:
    """The reseller's statements of a calendar month, one per currency, with a line per
    company: closed once the month is closed, else drafts recomputed on read."""
    month = _month(params.month)
    statements = reseller_statements_for_actor(actor_of(request), reseller_id, month)
    if params.format == "csv":
        return _csv_response(statements, f"reseller-{reseller_id}-{month:%Y-%m}.csv")
    prefetch_related_objects(statements, "lines")
    return {
        "month": f"{month:%Y-%m}",
        "items": [statement_serialize(s, lines=True) for s in statements],
    }
