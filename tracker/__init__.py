"""Privacy-regulation news tracker: seeds -> crawl -> stories -> Datasette."""

__version__ = "0.1.0"
