"""What the hub says when input is wrong: one catalogue of plain sentences (issue #13).

The people who use the hub are reseller admins and platform operators. The API keeps its
machine codes, field paths and terse messages (SPEC §12) for client code; every hub form,
view and template takes its words from here instead, so a rule reads the same on every
screen: no field names, basis points, minor units or internal limits, and a limit said in
the person's own units.

This module sits in `core/` because forms in the domain apps use it and apps may not
import `web/`. It imports nothing from the apps: callers pass amounts already formatted
(`web.money.format_money`) and labels already looked up.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# ---- names and required input --------------------------------------------------------------


def enter(label: str) -> str:
    """A required text field left blank or filled with spaces only."""
    return f"Enter the {label[:1].lower()}{label[1:]}."


CHOOSE_BILLING_CYCLE = "Choose at least one billing cycle."
ADD_PRICE_CURRENCY = "Add a price in at least one currency."
ENTER_REVENUE_SHARE = "Enter the revenue share in percent."
CHOOSE_COMPANY = "Choose the company this key is for."
ENTER_KEY_NAME = "Give the key a name, so you can tell it apart from your other keys."
COMPANY_NOT_FOUND = "There is no company with that name: pick one from the list."
COMPANY_AMBIGUOUS = "Several companies have that name: pick one from the list."
CHOOSE_FEE_APPLY = "Choose how to apply the fee change."


def enter_price(cycle: str, currency: str) -> str:
    return f"Enter the {cycle} price in {currency}."


def name_taken(thing: str, name: str, suggestion: str | None = None) -> str:
    """'A plan called "Gold" already exists — try "Gold (2)".'"""
    text = f'A {thing} called "{name}" already exists'
    return f'{text} — try "{suggestion}".' if suggestion else f"{text}: choose another name."


def taken(thing: str) -> str:
    """A username, slug or similar identifier another record already uses."""
    return f"That {thing.lower()} is already in use: choose another."


KEY_SHAPE = "Use lowercase letters and digits, joined by - or _ (for example, seat-maps)."
UNKNOWN_CURRENCY = "That is not a currency code we know: use three letters, such as GBP."
CURRENCY_TAKEN = "That currency is already on the list."


# ---- numbers, percentages and money ---------------------------------------------------------

NOT_NEGATIVE = "This can't be negative."
AMOUNT_NOT_NEGATIVE = "The amount can't be negative."
PERCENT_NOT_NEGATIVE = "Enter a percentage of 0 or more."
WHOLE_NUMBER = "Enter a whole number, such as 500."
LIMIT_NOT_NEGATIVE = "Enter 0 or more, or leave it empty for unlimited."
LIMIT_TOO_LARGE = "That number is too large. To set no limit, leave it empty."
OVERRIDE_NOT_NEGATIVE = "Enter 0 or more, or tick Unlimited."
OVERRIDE_TOO_LARGE = "That number is too large. To set no limit, tick Unlimited."
NUMBER_OR_UNLIMITED = "Enter a number or tick Unlimited, not both."
MIN_ABOVE_MAX = "The minimum fee can't be more than the maximum."
REVENUE_SHARE_ABOVE_ZERO = "The revenue share must be more than 0 %."


def percent_at_most(what: str = "Percent", highest: str = "100") -> str:
    """'Percent can be at most 100'; the GST rate and revenue share say their own name."""
    return f"{what} can be at most {highest}."


def highest(what: str, formatted_amount: str) -> str:
    """'The highest price is GBP 10,000,000,000.00.'"""
    return f"The highest {what} is {formatted_amount}."


# ---- fee types ---------------------------------------------------------------------------------


def fee_type_name(name: str) -> str:
    """Fee type names capitalised the same everywhere: "Ticket", "Gateway processing"."""
    name = name.strip()
    return name[:1].upper() + name[1:].lower() if name else name


# ---- seed texts and explanations where a setting is made ----------------------------------
# The seeds' own words (/work/shared/seeds), quotes included.

ARCHIVE_HELP = (
    "Archiving plans allows you to hide them as options when assigning to companies "
    "but keeps them assigned to any existing companies."
)
STATUS_HELP = "Only enabled plans can be assigned; companies already on a plan keep it."
VISIBILITY_HELP = "Visible plans are offered on the registration form and in the plan catalog."


def archive_default_plan_warning(name: str, reseller: str) -> str:
    return (
        f"“{name}” is the default registration plan of {reseller}. Once it is archived, "
        "new registrations get no plan and are set to “Custom” until you choose another "
        "default registration plan."
    )


def custom_keeps(plan_name: str, features: list[str]) -> str:
    """What a company keeps when set to Custom (see companies company_detach_from_plan)."""
    kept = ", ".join(features) if features else "no features"
    return (
        f"Set to “Custom”, this company keeps what it has now from “{plan_name}” as its own: "
        f"its features ({kept}), its limits and its fees. Later changes to the plan no "
        "longer reach it."
    )


def delete_plan_confirmation(name: str) -> str:
    return (
        f"Are you sure you want to delete “{name}”? All companies assigned to this plan "
        "will retain their fees and features but be set to “Custom”."
    )


def inherit_fees(plan_display_name: str, inherits: bool) -> str:
    verb = "will" if inherits else "will not"
    # The seed's curly single quotes (escaped: ruff flags the literal characters).
    return f"This company {verb} inherit the fees configured in \u2018{plan_display_name}\u2019."


def limit_line(name: str, value: int | None) -> str:
    """'Messages: 10,000'; 'Team Members: unlimited'."""
    return f"{name}: {'unlimited' if value is None else f'{value:,}'}"


# ---- what a job did -------------------------------------------------------------------------


def companies(n: int) -> str:
    return f"{n:,} compan{'y' if n == 1 else 'ies'}"


def job_summary(
    *,
    plan: str | None,
    company: str | None,
    reseller: str,
    company_count: int,
    left_alone: int = 0,
) -> str:
    """'Fees of plan Starter, all items: 89 companies with plan fees; 3 companies on their
    own fees were left alone.'"""
    if plan is not None:
        text = f"Fees of plan {plan}, all items: {companies(company_count)} with plan fees"
        if left_alone:
            its, were = ("its", "was") if left_alone == 1 else ("their", "were")
            text += f"; {companies(left_alone)} on {its} own fees {were} left alone"
        return text + "."
    if company is not None:
        return f"Fees of company {company}, all items."
    return (
        f"Reseller fees of {reseller}, all items: {companies(company_count)} charged the "
        "reseller's fees."
    )


# ---- what a machine message becomes in the hub -------------------------------------------------
# Services speak the API's language (`percent_bps must be at most 10000 (100 %)`); the hub
# checks the common cases itself before calling them (all errors at once), and whatever a
# service still refuses is translated here, so no machine wording reaches a page.

Translator = Callable[[re.Match[str], str], str]

_MACHINE: list[tuple[re.Pattern[str], Translator]] = [
    (re.compile(r"percent_bps must be at most \d+.*"), lambda m, label: percent_at_most()),
    (re.compile(r"min_minor must not exceed max_minor"), lambda m, label: MIN_ABOVE_MAX),
    (re.compile(r"\w+_minor must not be negative"), lambda m, label: AMOUNT_NOT_NEGATIVE),
    (re.compile(r"\w+_minor must be at most \d+"), lambda m, label: "That amount is too large."),
    (
        re.compile(r"must be an integer from 0 to 10000 \(basis points\)"),
        lambda m, label: "Enter a percentage from 0 to 100.",
    ),
    (re.compile(r"must be at least 0"), lambda m, label: NOT_NEGATIVE),
    (re.compile(r"must be at least 1"), lambda m, label: "Enter a number above 0."),
    (re.compile(r"must be at most \d{6,}"), lambda m, label: "That number is too large."),
    (re.compile(r"must be at most 10000"), lambda m, label: percent_at_most()),
    (re.compile(r"is required|must not be empty"), lambda m, label: enter(label)),
    (re.compile(r"is required for a revenue-sharing plan"), lambda m, label: ENTER_REVENUE_SHARE),
    (re.compile(r"choose one or more.*"), lambda m, label: CHOOSE_BILLING_CYCLE),
    (re.compile(r"already taken|already exists"), lambda m, label: taken(label)),
    (re.compile(r"use lowercase letters, digits, .*"), lambda m, label: KEY_SHAPE),
    (re.compile(r"'?\w*'? is not in the pinned ISO 4217 table"), lambda m, label: UNKNOWN_CURRENCY),
    (re.compile(r"a company key needs a company"), lambda m, label: CHOOSE_COMPANY),
    (
        re.compile(r"a reseller key needs a reseller"),
        lambda m, label: "Choose the reseller this key is for.",
    ),
    (
        re.compile(r"a reseller key belongs to no company"),
        lambda m, label: "Leave the company empty for a reseller key.",
    ),
    (
        re.compile(r"a platform key belongs to no reseller"),
        lambda m, label: "A platform key is for no reseller or company: leave both empty.",
    ),
    (
        re.compile(r"the company belongs to another reseller"),
        lambda m, label: "That company belongs to another reseller.",
    ),
    (re.compile(r"(\w{3}) needs a (\w+) price"), lambda m, label: enter_price(m[2], m[1])),
    (
        re.compile(r"not enabled for this reseller: (.+)"),
        lambda m, label: f"Not enabled for this reseller: {m[1]}.",
    ),
]


def plain(message: str, label: str = "") -> str:
    """A service's machine message in plain words (unchanged when it already is plain);
    `label` is the form field's label, for messages that name what they are about."""
    text = str(message).strip()
    label = label or "value"
    for pattern, translate in _MACHINE:
        match = pattern.fullmatch(text)
        if match:
            return translate(match, label)
    return text[:1].upper() + text[1:] if text else text
