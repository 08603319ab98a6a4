"""The materialized path of the company tree and its indexed prefix lookup."""

import re

from django.db import models

PATH_SEGMENT_WIDTH = 10  # zero-padded primary key per level: fixed width keeps prefixes unambiguous
_PATH_RE = re.compile(r"^(?:\d{%d}/)*$" % PATH_SEGMENT_WIDTH)


class TreePathField(models.CharField):
    """A company's chain of ancestor ids, e.g. "0000000001/0000000005/"."""


@TreePathField.register_lookup
class Under(models.Lookup):
    """`path__under=prefix`: the path starts with `prefix` (the company itself and all below it).

    Django's `startswith` is a LIKE, which SQLite cannot answer from an index because its LIKE is
    case-insensitive, so a subtree query would scan every company. GLOB is case-sensitive and
    does use the index. Paths hold only digits and "/", so no GLOB wildcard needs escaping.
    PostgreSQL keeps LIKE, served by the varchar_pattern_ops index Django adds for this field.
    """

    lookup_name = "under"

    def get_db_prep_lookup(self, value, connection):
        if not isinstance(value, str) or not _PATH_RE.match(value):
            raise ValueError(f"Not a company path: {value!r}")
        wildcard = "*" if connection.vendor == "sqlite" else "%"
        return "%s", [value + wildcard]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        operator = "GLOB" if connection.vendor == "sqlite" else "LIKE"
        return f"{lhs} {operator} {rhs}", [*lhs_params, *rhs_params]
