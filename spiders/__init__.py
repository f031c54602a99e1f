"""The Scrapy side of the tracker: spider, middlewares, pipelines and the one settings module."""
