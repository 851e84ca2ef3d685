"""The SQLite database: one file, opened and migrated by ``database``, written from one thread
(``worker.DatabaseWorker``), with one module per part of the shop it keeps.

Nothing above ``services/`` imports this package: the handlers and the web app reach the
data only through a service.
"""
