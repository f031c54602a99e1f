"""Serving: Datasette over the database, its plugins' helpers, search and exports."""
