"""What a change will cost, shown before it is scheduled (the wizard's review, the API's answer).

The price is the price list's in force on the day the change applies (catalog.selectors.PriceBook
through OrderFacts), not the scheduling day's: a change at renewal on 2027-03-01 is priced on that day.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from orders.facts import OrderFacts
from orders.models import Subscription

from .rules import ChangeSpec, Kind, standing_order


@dataclass(frozen=True)
class PriceEffect:
    """Per period of the billing type: before (the current seats at the day's price of the current
    billing type and product) and after (as the change leaves it); None where the price list has none."""

    day: dt.date
    currency: str
    quantity_before: int
    quantity_after: int
    unit_price_before: Decimal | None
    unit_price_after: Decimal | None

    @property
    def total_before(self) -> Decimal | None:
        return None if self.unit_price_before is None else self.unit_price_before * self.quantity_before

    @property
    def total_after(self) -> Decimal | None:
        return None if self.unit_price_after is None else self.unit_price_after * self.quantity_after

    @property
    def delta(self) -> Decimal | None:
        """What the change adds (negative: saves) per period."""
        if self.total_before is None or self.total_after is None:
            return None
        return self.total_after - self.total_before


def price_effect(subscription: Subscription, spec: ChangeSpec, *, day: dt.date, facts: OrderFacts | None = None) -> PriceEffect:
    """The price effect of `spec` on `day` (the day it applies)."""
    after = standing_order(subscription, spec)
    current = standing_order(subscription, ChangeSpec(kind=Kind.AUTO_RENEW, when=spec.when))
    if facts is None or facts.day != day:
        facts = OrderFacts.load([after, current], day=day)
    item_before, item_after = facts.price_item(current), facts.price_item(after)
    cancelled = spec.kind == Kind.CANCEL
    priced = item_after or item_before
    return PriceEffect(
        day=day,
        currency=priced.currency if priced is not None else subscription.currency,
        quantity_before=subscription.quantity,
        quantity_after=0 if cancelled else after.quantity,
        unit_price_before=item_before.selling_price if item_before is not None else None,
        unit_price_after=(item_after.selling_price if item_after is not None else None),
    )
