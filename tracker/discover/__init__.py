"""Discovery: sources (feeds, news sitemaps, listing pages) polled for new article URLs."""
