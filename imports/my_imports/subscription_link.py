"""What imports adds to orders' subscription page: the import that created the subscription,
linked to its row in My imports (orders cannot look import jobs up; see orders.subscription_page)."""

from django.urls import reverse
from django.utils.http import urlencode

from orders.models import Subscription
from orders.subscription_page import ImportLink, register_import_link

from imports.models import ImportRow


def subscription_import_link(subscription: Subscription) -> ImportLink | None:
    row = ImportRow.objects.filter(subscription=subscription).select_related("job").first()
    if row is None:
        return None
    job = row.job
    # My imports narrowed to that job (its `job` filter), scrolled to its row.
    url = f"{reverse('imports:my_imports')}?{urlencode({'job': job.pk})}#import-{job.pk}"
    label = f"{job.display_name} ({job.get_source_display()}, #{job.pk})"
    return ImportLink(label=label, url=url)


def register() -> None:
    register_import_link(subscription_import_link)
