"""The Upcoming view's index on the subscriptions' cancellation windows (imports.upcoming.selectors:
windows closing are read as a range of cancellation_window_ends_at, soonest first).

The table is orders', but the reader is imports' Upcoming view, and issue 27's split gave this
work migrations in imports only: the index is created here, by SQL both databases accept, and
dropped on the way back. Moving it into orders.Subscription.Meta.indexes later needs only a
migration there with the same name (IF NOT EXISTS keeps this one harmless)."""

from django.db import migrations

INDEX = "subscription_window_ends"


class Migration(migrations.Migration):

    dependencies = [
        ("imports", "0021_change_wiped_notices"),
        ("orders", "0005_subscription_terms_and_changes"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON orders_subscription (cancellation_window_ends_at, id) "
            "WHERE cancellation_window_ends_at IS NOT NULL",
            f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
