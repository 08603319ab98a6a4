"""Files for the bulk import tests, written as a reseller would write them."""

import csv
import io

from openpyxl import Workbook

from imports.bulk.columns import COLUMNS


def csv_bytes(rows, *, delimiter=",", bom=False, line_end="\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end)
    for row in rows:
        writer.writerow(row)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def lines_for(account_type, *dicts):
    """A header of every column of the type, then one line per dict (by column label)."""
    labels = [c.label for c in COLUMNS[account_type]]
    return [labels] + [[d.get(label, "") for label in labels] for d in dicts]
