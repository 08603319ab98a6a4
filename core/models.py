"""Models of the project package: what the API (core.api) stores for itself."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The first successful answer to a POST with an Idempotency-Key, replayed for a repeat of
    that request (core.api.idempotency) for settings.API_IDEMPOTENCY_HOURS.

    Unique per user and key: two racing requests with one key cannot both create.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("Idempotency-Key"), max_length=255)
    # SHA-256 of the method, path and canonical JSON body: the same key with another request is 409.
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    response_body = models.JSONField(_("response body"))
    created_at = models.DateTimeField(_("created"), db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")]

    def __str__(self):
        return f"{self.key} ({self.user_id})"


class OutboxSenderPlace(models.Model):
    """A place for one sender task of an outbox kind (core.outbox.SenderPlaces): a task is
    enqueued only into a free place, so at most as many senders of a kind are queued or running
    as it has places, however many runs ask for one. `token` names the task holding it; the place
    is free again when that task ends, or when `held_until` passes (a task the broker lost, or a
    worker killed mid-send)."""

    kind = models.CharField(_("kind"), max_length=40)
    place = models.PositiveSmallIntegerField(_("place"))
    token = models.CharField(_("token"), max_length=32, blank=True)
    held_until = models.DateTimeField(_("held until"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox sender place")
        verbose_name_plural = _("outbox sender places")
        constraints = [models.UniqueConstraint(fields=["kind", "place"], name="outbox_sender_place_unique")]

    def __str__(self):
        return f"{self.kind} #{self.place}"
