"""Extraction: one fetched page in, article text and metadata out; the worker pool."""
