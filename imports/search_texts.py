"""SearchText: what a search of My imports compares, once per distinct text (ImportJob.search
points at it). A model of the imports app, kept apart from the jobs' module, which it does not need."""

import hashlib

from django.db import models
from django.utils.translation import gettext_lazy as _

# SearchText.text: the folded import name, product names and codes (imports.jobs.services.search_text_for).
SEARCH_TEXT_MAX_LENGTH = 1000


class SearchTextManager(models.Manager):
    def for_text(self, text: str) -> "SearchText":
        """The one row of this text, created by the first job that has it (a concurrent creator of the
        same text loses the unique digest and reads the winner's row)."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        return self.get_or_create(digest=digest, defaults={"text": text})[0]


class SearchText(models.Model):
    """What a search of My imports compares, stored once per distinct text: the folded import name and
    the product names and codes of a job's rows (imports.jobs.services.search_text_for).

    Jobs point at it. The jobs of one service, or of one file, share one text, so a search compares
    each distinct text once and then finds and counts the jobs through the (search, company) index,
    rather than comparing every job's own copy (a LIKE per job: 17 ms at 100,000 jobs on PostgreSQL).
    """

    text = models.CharField(_("search text"), max_length=SEARCH_TEXT_MAX_LENGTH, editable=False)
    # Unique by digest: a unique index on the text itself could exceed PostgreSQL's index entry size.
    digest = models.CharField(max_length=64, unique=True, editable=False)

    objects = SearchTextManager()

    class Meta:
        verbose_name = _("search text")
        verbose_name_plural = _("search texts")

    def __str__(self):
        return self.text
