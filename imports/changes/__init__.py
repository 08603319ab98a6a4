"""Scheduled changes to live subscriptions as import jobs (issue 27): scheduling, cancelling and
rescheduling them (services), running them at the due time (runner: the line runner of import_type
"change"), and their one vendor call (vendor: the vendor sender's operation "change"). The rules are
orders.changes.rules'; the status moves orders.changes.states'."""
