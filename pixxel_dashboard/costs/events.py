"""What other apps hear about budgets.

`budget_crossed` is sent inside the transaction that claimed a `BudgetAlert` row (one per
organization × project × month × measure × threshold, so once per crossing however many workers
save jobs). Receivers claim their own rows in that transaction and queue work with
`transaction.on_commit`. Keyword argument: `alert` (the new BudgetAlert row).
"""

from django.dispatch import Signal

budget_crossed = Signal()
