"""The imports app's models, by room: the jobs and their rows (jobs), the outboxes a job's run writes
(outbox), what the pages keep between requests (pages), the engine's processes (engine). Everything is
imported from here (`from imports.models import ImportJob`); the rooms import one another only downwards
(jobs, then pages and outbox)."""

from imports.search_texts import SEARCH_TEXT_MAX_LENGTH, SearchText  # noqa: F401 (a model of this app)

from imports.models.jobs import (  # noqa: F401
    JOB_UNNAMED,
    PROVISIONING_KEY_PREFIX,
    ROW_LINE_REASON,
    ImportJob,
    ImportRow,
)
from imports.models.pages import ImportFile, ImportRetryDraft, MyImportsPreference  # noqa: F401
from imports.models.outbox import Notification, SubscriptionNotice, VendorOrder, WebhookDelivery  # noqa: F401
from imports.models.engine import EngineWorker  # noqa: F401
