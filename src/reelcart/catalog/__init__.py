"""The shop's data: the SQLite database, its migrations, and catalog import."""
