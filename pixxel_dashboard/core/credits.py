"""Credits (Pixxel's money): one bounded type for every amount we read, store and show.

An amount is a non-negative decimal of at most CREDITS_MAX_DIGITS digits, CREDITS_DECIMAL_PLACES of
them after the point. Anything else (from a form, from Pixxel, or already in the database from before
the bounds) is refused at the door or, once stored, read back as INVALID_CREDITS, which renders as
"invalid" instead of crashing a page, an admin list or the worker.
"""

import decimal
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

CREDITS_MAX_DIGITS = 14
CREDITS_DECIMAL_PLACES = 2
MAX_CREDITS = Decimal(10) ** (CREDITS_MAX_DIGITS - CREDITS_DECIMAL_PLACES) - Decimal("0.01")
CENT = Decimal(1).scaleb(-CREDITS_DECIMAL_PLACES)


def whole_cents(amount: Decimal) -> Decimal:
    """`amount` to two decimals, as it is stored (Pixxel may send 1.845; we keep 1.84)."""
    return amount.quantize(CENT, rounding=decimal.ROUND_HALF_EVEN)


class InvalidCredits(Decimal):
    """A stored amount outside the bounds: a NaN that prints (and floatformats) as "invalid"."""

    def __new__(cls):
        return super().__new__(cls, "NaN")

    def __str__(self):
        return "invalid"

    def __repr__(self):
        return "InvalidCredits()"


INVALID_CREDITS = InvalidCredits()


def _in_bounds(amount: Decimal) -> bool:
    return amount.is_finite() and 0 <= amount <= MAX_CREDITS


def as_credits(value) -> Decimal | None:
    """`value` as a bounded amount of credits, or None when it is not one (negative, too big, NaN)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (decimal.InvalidOperation, ValueError, TypeError):
        return None
    return amount if _in_bounds(amount) else None


def credits_text(value: Decimal | None) -> str:
    """As the pages and emails write credits: whole amounts without decimals, others with two;
    "" for none, "invalid" for INVALID_CREDITS."""
    if value is None:
        return ""
    if not value.is_finite():
        return str(value)
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"


def over_estimate(cost, estimate) -> bool:
    """Did it take more credits than its estimate? Only when both are known numbers (an unsaved
    job may hold a plain int; INVALID_CREDITS is no number)."""
    if cost is None or estimate is None:
        return False
    cost, estimate = Decimal(cost), Decimal(estimate)
    return cost.is_finite() and estimate.is_finite() and cost > estimate


def credits_display(value):
    """For admin lists, whose number formatting cannot take INVALID_CREDITS."""
    return "invalid" if isinstance(value, InvalidCredits) else value


class CreditsField(models.DecimalField):
    """A non-negative, bounded DecimalField whose out-of-range stored values read as invalid."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", CREDITS_MAX_DIGITS)
        kwargs.setdefault("decimal_places", CREDITS_DECIMAL_PLACES)
        kwargs.setdefault("validators", [MinValueValidator(0), MaxValueValidator(MAX_CREDITS)])
        super().__init__(*args, **kwargs)

    @property
    def context(self):
        # SQLite keeps whatever was written; quantizing a too-big value must give NaN (read back as
        # INVALID_CREDITS below), not raise InvalidOperation on every query that selects the row.
        return decimal.Context(prec=self.max_digits, traps=[])

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        try:
            amount = Decimal(value)
        except (decimal.InvalidOperation, ValueError, TypeError):
            return INVALID_CREDITS
        return amount if _in_bounds(amount) else INVALID_CREDITS

    def get_db_prep_value(self, value, connection, prepared=False):
        # An invalid amount read back is never written again as if it were a number.
        if isinstance(value, InvalidCredits):
            value = None
        return super().get_db_prep_value(value, connection, prepared)

    def get_db_prep_save(self, value, connection):
        # Written with exactly two decimals, rounded here: SQLite would otherwise keep 1.845 as
        # is (its sums then disagree with the 1.84 read back) and PostgreSQL round it half up,
        # so the cost rollups, which count the amount in whole cents, would drift from the jobs.
        if isinstance(value, Decimal | int | float) and not isinstance(
            value, bool | InvalidCredits
        ):
            amount = as_credits(value)
            if amount is not None:
                value = whole_cents(amount)
        return super().get_db_prep_save(value, connection)
