"""Item pipelines: archive each response to WARC, then extract and save it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler

from tracker.store import Database, open_db
from tracker.errors import ExtractionError
from tracker.extract.options import ExtractOptions
from tracker.extract.pool import ExtractorPool
from tracker.crawl.pages import PageResult, save_page
from tracker.crawl.policy import RecrawlPolicy, policy_from_settings
from tracker.crawl.warc import WarcArchive

logger = logging.getLogger(__name__)


def warc_folder(settings: Any) -> Path:
    """TRACKER_WARC_DIR, or warc/ beside the database."""
    folder = settings.get("TRACKER_WARC_DIR")
    return Path(folder) if folder else Path(settings.get("TRACKER_DB")).parent / "warc"


class ArchivePipeline:
    """Every response (not errors: they have none) goes to a size-rotated WARC file."""

    def __init__(self, folder: Path, max_bytes: int, level: int) -> None:
        self.archive = WarcArchive(folder, max_bytes, level=level)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        settings = crawler.settings
        return cls(warc_folder(settings), settings.getint("TRACKER_WARC_MAX_BYTES"),
                   settings.getint("TRACKER_WARC_GZIP_LEVEL"))

    def process_item(self, item: PageResult, spider: Spider | None = None) -> PageResult:
        if item.status is not None:
            item.warc_file = self.archive.write(item, item.request_headers)
        return item

    def close_spider(self, spider: Spider | None = None) -> None:
        self.archive.close()


class ExtractSavePipeline:
    """Extract text in a process pool (both cores, hung pages killed), then save the attempt."""

    def __init__(self, db_path: str, workers: int, options: ExtractOptions, policy: RecrawlPolicy) -> None:
        self.db_path = db_path
        self.workers = workers
        self.options = options
        self.policy = policy
        self.db: Database | None = None
        self.pool: ExtractorPool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractSavePipeline:
        s = crawler.settings
        options = ExtractOptions(max_bytes=s.getint("TRACKER_EXTRACT_MAX_CHARS"),
                                 time_budget=s.getfloat("TRACKER_EXTRACT_TIMEOUT"))
        return cls(s.get("TRACKER_DB"), s.getint("TRACKER_EXTRACT_WORKERS"), options,
                   policy_from_settings(s.get))

    def open_spider(self, spider: Spider | None = None) -> None:
        self.db = open_db(self.db_path)
        self.pool = ExtractorPool(workers=self.workers, options=self.options)

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.pool is not None:
            self.pool.close()
        if self.db is not None:
            self.db.close()

    async def extract(self, item: PageResult) -> Any:
        """The page's Extraction, its ExtractionError, or None for an attempt with no page."""
        assert self.pool is not None
        if item.outcome != "ok":
            return None
        future = self.pool.submit(item.body, item.final_url or item.url, item.content_type)
        try:
            return await asyncio.wrap_future(future)
        except ExtractionError as exc:
            return exc

    async def process_item(self, item: PageResult, spider: Spider | None = None) -> PageResult:
        assert self.db is not None
        extraction = await self.extract(item)
        article_id, outcome = save_page(self.db, item, extraction, self.policy)
        logger.info("%s %s -> %s", item.status or "---", item.url, outcome)
        item.body = b""  # the WARC has it; do not keep it in memory
        return item
