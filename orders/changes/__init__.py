"""Scheduled changes to live subscriptions (orders.models.SubscriptionChange): their rules (rules.py),
their status moves (states.py) and how they read (describe.py)."""
