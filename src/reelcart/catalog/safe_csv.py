"""CSV files reelcart writes for a person to open in a spreadsheet, made inert.

A cell that starts like a formula (``=``, ``+``, ``-``, ``@``) or with a tab or a line
break would be run by the spreadsheet app (CSV injection); such a cell gets a leading ``'``.
"""

from __future__ import annotations


def safe_csv_cell(value: str) -> str:
    """Make a cell inert for spreadsheets: a leading ``= + - @``, tab or CR gets a ``'``.

    Use it for every cell of a CSV that reelcart writes for a person to open (the failed
    rows: ``reelcart.i18n.catalog_report.failed_rows_csv``).
    """
    if value and value[0] in "=+-@\t\r\n":
        return "'" + value
    return value
