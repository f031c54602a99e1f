"""The crawl: what is due, Scrapy in its own process, pages and WARC saved, the Redis queue."""
