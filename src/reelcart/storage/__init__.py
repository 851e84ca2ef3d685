"""The SQLite database: one file, opened and migrated by ``database``, used from one thread
(``worker.DatabaseWorker``), with one module per part of the shop it keeps.

Every storage function is plain blocking SQLite that takes the ``Store`` first; async code
runs it on the database thread with ``DatabaseWorker.run(fn, ...)``. Nothing above
``services/`` imports this package: the handlers and the web app reach the data only
through a service.

The connection and the schema:

- ``store``: ``Store`` (the connection), and ``rows``, ``scalar`` and ``has_table``, the
  query helpers every module uses;
- ``worker``: the database thread;
- ``database``: opening a file (WAL) and migrating it;
- ``migrations``: the ``@migration`` registry; the schema itself is in ``database``
  (users, merchants, products, clips, events, cards, vectors), ``schema_orders`` and
  ``schema_shops``.

One module per aggregate:

- ``users``: users, their language and interests, bans and blocks;
- ``merchants``: shops and their owners, applications, trusted and suspended flags;
- ``products``: products and their clips, a catalog import's rows, a merchant's own edits;
- ``moderation``: the moderation queue and the moderators' decisions;
- ``events``: the event log and the feed's cards;
- ``vectors``: product vectors by model;
- ``orders``: drafts, baskets, shipping rates, stock taken, the payment inbox, orders,
  receipts and shared clips;
- ``outbox``: broadcasts and restock alerts, one delivery state per recipient;
- ``audit``: the admin audit log;
- ``settings``: settings changed from the admin panel;
- ``stats``: statistics over a period;
- ``referrals``: creators' codes and the visits made through them;
- ``personal_data``: a person's own data, exported or erased.
"""
