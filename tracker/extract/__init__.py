"""Extraction: one fetched page in, article text and metadata out (`page.extract_page`), built from
`decode` (bytes to HTML text), `text` (trafilatura), `metadata` (JSON-LD, meta tags, dates) and
`options`; `pool` runs it in worker processes with a time budget, `server` warms their fork server."""
