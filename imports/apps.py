from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "imports"
    verbose_name = _("Imports")

    def ready(self):
        from imports import company_page
        from imports.bulk import rows as bulk_rows
        from imports.bulk import services as bulk_services
        from imports.changes import runner as change_runner
        from imports.changes import page as change_page
        from imports.changes import vendor as change_vendor
        from imports.engine import checks  # noqa: F401  (registers the configuration's system check)
        from imports.engine.periodic import ensure_schedule_after_migrate
        from imports.engine.plugins import housekeeping_register, line_runner_register
        from imports.engine.term_sync import term_syncs_enqueue
        from imports.engine.vendor_refresh import vendor_refresh_enqueue
        from imports.models import ImportRow
        from imports.my_imports import subscription_link
        from imports.notify.notices import notices_queue_due
        from imports.engine import change_notices
        from imports.vendor import held as vendor_held
        from imports.vendor import send as vendor_send
        from orders.subscription_page import register_section
        from catalog.integrations.budget import tenant_budgets_prune

        # The subscription page (orders) links the import that created it; orders cannot import us.
        subscription_link.register()
        # + NEW and TERMINATE's cancel of Pending jobs on the company page (accounts cannot import us).
        company_page.register()
        # Bulk imports' company and user lines, and their housekeeping, plug into the engine
        # (imports.engine.plugins): the engine imports nothing of bulk upload handling.
        bulk_rows.register()
        bulk_services.register()
        # Scheduled changes to live subscriptions (issue 27): their "change" lines, and their one vendor
        # call (the vendor sender's operation "change").
        line_runner_register(ImportRow.ImportType.CHANGE, change_runner.change_row_run)
        vendor_send.OPERATIONS[change_runner.OPERATION] = change_vendor.change_try
        # The subscription page (orders) shows them and opens their wizard; orders cannot import us.
        register_section("imports.changes", change_page.changes_section)
        # Subscriptions whose vendor order was still pending are asked about again (issue 25).
        housekeeping_register("imports.engine.vendor_refresh", vendor_refresh_enqueue)
        # Reminders before renewals with changes and cancellation windows closing (issue 27).
        housekeeping_register("imports.notify.notices", notices_queue_due)
        # Subscriptions synced with their vendor before each renewal; local ones renewed at term end (issue 27).
        housekeeping_register("imports.engine.term_sync", term_syncs_enqueue)
        # A scheduled change the sync found wiped, or not applied by the renewal: its email and webhook (issue 27).
        change_notices.register()
        # The tenant request budget's old slots are forgotten (catalog.integrations.budget).
        housekeeping_register("catalog.vendor_budget_prune", tenant_budgets_prune)
        # Open vendor orders count as held by the due-time checks (orders cannot import us).
        vendor_held.register()

        # sender=self: once per migrate run (post_migrate fires once per app), after every
        # app's tables, django_q's included, exist.
        post_migrate.connect(ensure_schedule_after_migrate, sender=self, dispatch_uid="imports.dispatch_schedule")
