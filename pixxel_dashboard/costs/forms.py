from decimal import Decimal

from django import forms

from pixxel_dashboard.core.credits import CREDITS_DECIMAL_PLACES, CREDITS_MAX_DIGITS, MAX_CREDITS

SET, CLEAR = "set", "clear"


class BudgetForm(forms.Form):
    """A project's monthly budget: a bounded amount of credits to set, or the clear button."""

    monthly_credits = forms.DecimalField(
        label="Monthly budget (credits)",
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_CREDITS,
        max_digits=CREDITS_MAX_DIGITS,
        decimal_places=CREDITS_DECIMAL_PLACES,
        help_text="Months are in the organization's time zone.",
    )
    # The button pressed (the page has one of each); anything but "clear" sets.
    action = forms.CharField(required=False)

    def clean(self):
        data = super().clean() or {}
        missing = data.get("action") != CLEAR and data.get("monthly_credits") is None
        if missing and "monthly_credits" not in self.errors:
            self.add_error("monthly_credits", "Give the budget in credits, or clear it.")
        return data

    @property
    def amount(self) -> Decimal | None:
        """What to set: None clears the budget."""
        if self.cleaned_data.get("action") == CLEAR:
            return None
        return self.cleaned_data["monthly_credits"]
