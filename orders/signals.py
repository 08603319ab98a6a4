"""Signals orders sends so higher layers (imports) can act without orders importing them."""

from django.dispatch import Signal

# Sent inside order_schedule's transaction, after the order is marked Submitted.
# kwargs: order (Order), due_at (datetime, UTC), user (User). A receiver that raises
# rolls the whole scheduling back.
order_submitted = Signal()
