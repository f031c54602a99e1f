"""Imported by the fork server that extraction workers are forked from (see ExtractorPool).

Besides importing the extraction modules, it runs one extraction of a small built-in page: what
the libraries set up lazily on first use (jusText's stoplists for every language, ~0.15 s of CPU)
is then done once, in the server, and every worker forked from it starts warm instead of paying
for it on its first page, or again after each restart.
"""

from tracker.extract.pool import warm_up

warm_up()
