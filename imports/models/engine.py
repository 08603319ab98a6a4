"""The engine's processes as the database last saw them (the health report reads them)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EngineWorker(models.Model):
    """A process of the import engine as the database last saw it: `imports_worker`'s dispatcher,
    or a cluster worker that ran the every-minute tick (imports.engine.workers writes it; the
    health report reads it). All its times are the database's clock (core.clock.db_now)."""

    class Role(models.TextChoices):
        DISPATCHER = "dispatcher", _("dispatcher")
        TICK = "tick", _("every-minute tick")

    # host:pid, unique while the process lives (a restarted worker is a new row; old ones are pruned).
    name = models.CharField(_("name"), max_length=200, unique=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # This process's clock minus the database's, in seconds, as last measured: positive when it is fast.
    clock_offset_seconds = models.FloatField(_("clock offset (s)"), default=0.0)
    last_seen_at = models.DateTimeField(_("last seen"), db_index=True)
    # The last dispatcher round (or tick) that completed: a round that failed or hung never counts.
    last_round_at = models.DateTimeField(_("last completed round"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    last_failure = models.CharField(_("last failure reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("engine worker")
        verbose_name_plural = _("engine workers")
        ordering = ["name"]

    def __str__(self):
        return self.name
