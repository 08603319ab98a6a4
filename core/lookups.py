"""Custom ORM lookups, registered once when the app loads (core.apps), not as a side effect of
importing whichever module uses them.

`__any`: `column = ANY(%s::bigint[])` with an IdArray (PostgreSQL only): My imports passes a
user's thousands of company ids as one parameter (imports.my_imports.selectors).
"""

from dataclasses import dataclass

from django.db.models import ForeignKey, IntegerField, Lookup


@dataclass(frozen=True)
class IdArray:
    """Ids passed to a query as one PostgreSQL array literal ("{1,2,3}"), written once per page
    however many statements use it. Not a list, so Django does not resolve each id as a value of
    its own (a thousand ids cost more in Python than the count they narrow)."""

    ids: tuple[int, ...]

    @classmethod
    def of(cls, ids) -> "IdArray":
        return cls(tuple(int(pk) for pk in ids))

    @property
    def literal(self) -> str:
        return "{" + ",".join(map(str, self.ids)) + "}"


class _AnyOf(Lookup):
    """`column = ANY(%s::bigint[])` with an IdArray (PostgreSQL only): one parameter, however many
    ids."""

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        if not isinstance(self.rhs, IdArray):
            raise TypeError("__any takes an IdArray")
        return self.rhs

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, self.rhs.literal]


def lookups_register() -> None:
    for field in (IntegerField, ForeignKey):
        field.register_lookup(_AnyOf)
