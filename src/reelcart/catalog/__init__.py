"""Catalog files: their formats, checking their rows, importing them (later export and sync).

From the bytes of a file down to the stored products, each module one step:

- ``decoding``: a file's bytes as text, or why it is not a text catalog at all (too large,
  a spreadsheet workbook, binary, not UTF-8/UTF-16);
- ``columns``: the header, which column holds which field (reelcart's columns or Shopify's);
- ``formats``: which format a file is (reelcart CSV or JSON, a Shopify export) and
  ``parse_catalog``, the whole file read and checked;
- ``shopify``: Shopify's product CSV export, one product per variant;
- ``cells``: one cell read and checked (SKU, text, price, stock, hashtags, links) and the
  limits on each;
- ``validation``: one product's cells into a ``CatalogRow`` or its errors, SKUs unique
  across the file; the result of a file, ``ParsedCatalog`` (``CatalogRow``, ``RowError``
  and ``RowOutcome`` are domain types, in ``reelcart.domain.catalog``, since storage takes
  them too);
- ``problems``: why a file or a row is refused, as message keys and parameters (the texts
  are in ``reelcart.i18n``);
- ``importer``: ``CatalogImporter``, storing a file's rows in one transaction with progress
  by stage, and its ``ImportReport``;
- ``safe_csv``: cells of the CSV files reelcart writes, inert in a spreadsheet;
- ``clip_folder``: a folder of clips attached to a merchant's products by SKU.
"""
