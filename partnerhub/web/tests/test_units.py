"""Small pure helpers of the hub: money parsing, the progress figure, the bar chart."""

from __future__ import annotations

from typing import Any

import pytest

from partnerhub.core.money import (
    bps_to_percent_str,
    format_money,
    major_str_to_minor,
    minor_to_major_str,
    percent_str_to_bps,
)
from partnerhub.fees.views import job_progress
from partnerhub.web.charts import bar_chart


def job(**values: Any) -> dict[str, Any]:
    base = {
        "status": "running",
        "companies_total": 4,
        "companies_done": 1,
        "items_total": 10,
        "items_done": 5,
        "finished_at": None,
    }
    return {**base, **values}


def test_progress_counts_items_and_is_100_only_when_succeeded() -> None:
    assert job_progress(job())["percent"] == 50
    assert job_progress(job(items_total=0, items_done=0))["percent"] == 25
    assert job_progress(job(status="queued", companies_total=0, items_total=0))["percent"] == 0
    done = job_progress(job(status="succeeded", items_done=10, finished_at="2026-01-02T03:04:05Z"))
    assert (done["percent"], done["finished"]) == (100, True)
    assert done["finished_shown"] == "2026-01-02 03:04:05 UTC"
    assert job_progress(job(status="failed"))["finished"] is True


@pytest.mark.parametrize(
    "text,currency,minor",
    [
        ("999", "INR", 99900),
        ("999.5", "INR", 99950),
        ("1,250.00", "GBP", 125000),
        ("500", "JPY", 500),
        ("1.234", "KWD", 1234),
        (" 12.5 ", "GBP", 1250),
        (".5", "GBP", 50),
        ("7.", "GBP", 700),
        ("0012", "JPY", 12),
    ],
)
def test_amounts_are_read_into_minor_units(text: str, currency: str, minor: int) -> None:
    assert major_str_to_minor(text, currency) == minor
    assert major_str_to_minor(minor_to_major_str(minor, currency), currency) == minor


@pytest.mark.parametrize(
    "text,message", [("1.5", "no decimals"), ("-1", "negative"), ("abc", "such as")]
)
def test_bad_amounts_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        major_str_to_minor(text, "JPY")


@pytest.mark.parametrize(
    "text,currency",
    [
        ("1,50", "GBP"),  # a decimal comma, or 150 with a typo: never guessed (was 150.00)
        ("1e3", "GBP"),  # was 1000.00
        ("1E3", "INR"),
        ("1,500", "JPY"),  # 1500 or 1.5? refused
        ("1,500", "KWD"),
        ("1.2.3", "GBP"),
        ("1.234", "GBP"),  # more decimals than the currency has
        ("1 000", "GBP"),
        ("+5", "GBP"),
        ("0x10", "GBP"),
        ("Infinity", "GBP"),
        ("NaN", "GBP"),
        ("\u0661\u0662", "GBP"),  # Arabic-Indic digits
        (".", "GBP"),
        ("12,34.00", "GBP"),  # not a thousands grouping
    ],
)
def test_ambiguous_or_malformed_amounts_are_refused_naming_the_form(
    text: str, currency: str
) -> None:
    with pytest.raises(ValueError, match="such as"):
        major_str_to_minor(text, currency)


@pytest.mark.parametrize("text", ["1,5", "1e1", "2.755", "2,75", "+1", "Infinity", "\u0661"])
def test_ambiguous_or_malformed_percentages_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"such as 2\.75"):
        percent_str_to_bps(text)


def test_percentages_and_money_are_shown_as_people_write_them() -> None:
    assert [bps_to_percent_str(b) for b in (250, 1800, 1, 0)] == ["2.5", "18", "0.01", "0"]
    assert percent_str_to_bps("2.75") == 275
    with pytest.raises(ValueError, match="at most 2 decimals"):
        percent_str_to_bps("2.755")
    assert format_money(123456789, "INR") == "INR 1,234,567.89"
    assert format_money(None, "GBP") == "—"


def test_bar_chart_scales_to_the_largest_value() -> None:
    chart = bar_chart([("gold", 10, "10"), ("silver", 5, "5"), ("none", 0, "0")], unit="companies")
    widths = [b.width for b in chart.bars]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert chart.title == "gold: 10, silver: 5, none: 0 (companies)"
