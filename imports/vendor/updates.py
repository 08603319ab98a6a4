"""UPDATE many rows by primary key, each with its own values, in one statement (update_each): how the vendor
sender writes a group of answers (imports.vendor.finish) and of cart ids (imports.vendor.recorder). Low-level
machinery at the bottom of the sender, beside imports.vendor.outcomes: it imports nothing of imports."""

from django.db import connection
from django.db.models import Q


def update_each(model, values: dict[int, dict], *, where: Q | None = None, **same) -> set[int]:
    """UPDATE rows of `model` by primary key, each with its own `values[pk]` (the same fields for every
    row) and the `same` values for all, only where `where` holds; returns the pks updated. One statement on
    PostgreSQL (UPDATE ... FROM (VALUES ...)): Django's bulk_update builds a CASE per field and row, which
    cost more CPU than the rest of recording a group of vendor orders. Elsewhere, one UPDATE per row."""
    if not values:
        return set()
    qs = model.objects.filter(pk__in=list(values))
    if where is not None:
        qs = qs.filter(where)
    if connection.vendor != "postgresql":
        updated = set()
        for pk, fields in values.items():
            if qs.filter(pk=pk).update(**fields, **same):
                updated.add(pk)
        return updated
    names = list(next(iter(values.values())))
    fields = [model._meta.get_field(name) for name in names]
    table = connection.ops.quote_name(model._meta.db_table)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    row = "(%s::" + model._meta.pk.db_type(connection) + "".join(f", %s::{f.db_type(connection)}" for f in fields) + ")"
    params: list = []
    for pk, row_values in values.items():
        params.append(pk)
        params.extend(f.get_db_prep_save(row_values[name], connection) for name, f in zip(names, fields))
    # The conditions (status, the same constant values) through the ORM: the ids it would update.
    compiler_sql, compiler_params = qs.values("pk").query.sql_with_params()
    sets = [f"{connection.ops.quote_name(f.column)} = v.{connection.ops.quote_name(f.column)}" for f in fields]
    same_params: list = []
    for name, value in same.items():
        field = model._meta.get_field(name)
        sets.append(f"{connection.ops.quote_name(field.column)} = %s")
        same_params.append(field.get_db_prep_save(value, connection))
    columns = ", ".join([pk_column] + [connection.ops.quote_name(f.column) for f in fields])
    sql = (
        f"UPDATE {table} SET {', '.join(sets)} FROM (VALUES {', '.join([row] * len(values))}) AS v({columns})"
        f" WHERE {table}.{pk_column} = v.{pk_column} AND {table}.{pk_column} IN ({compiler_sql})"
        f" RETURNING {table}.{pk_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*same_params, *params, *compiler_params])
        return {r[0] for r in cursor.fetchall()}
