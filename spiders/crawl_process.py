"""Entry point of the crawl child process: `python -m spiders.crawl_process -s NAME=VALUE ...`.

One Scrapy crawl per process (the Twisted reactor cannot restart), so `tracker crawl` starts this
in a subprocess. The settings module is named explicitly: no dependence on scrapy.cfg or the
current directory.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from tracker.extract.pool import start_worker_server


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m spiders.crawl_process")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a Scrapy or TRACKER_ setting for this run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # The extraction workers' server loads trafilatura on the other core while Scrapy loads here
    # (the discovery poll extracts nothing: no server).
    if "TRACKER_SPIDER=sources" not in args.set:
        start_worker_server()
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "spiders.settings")
    settings = get_project_settings()
    for pair in args.set:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            print(f"bad setting {pair!r}: use NAME=VALUE", file=sys.stderr)
            return 2
        settings.set(name.strip(), value, priority="cmdline")
    from spiders.articles import ArticleSpider
    from spiders.faults import DEADLINE_REASON, install_stop_signals

    spider_class = ArticleSpider
    if settings.get("TRACKER_REDIS_URL"):  # a distributed worker: jobs come from Redis
        from spiders.redis_worker import WorkerSpider as spider_class  # type: ignore[assignment]
    elif settings.get("TRACKER_SPIDER") == "sources":  # the discovery stage's poll
        from spiders.discovery import SourcesSpider as spider_class  # type: ignore[assignment]
    process = CrawlerProcess(settings)  # LOG_INSTALL_ROOT_HANDLER (default on) routes the log
    crawler = process.create_crawler(spider_class)
    process.crawl(crawler)
    install_stop_signals(crawler)  # SIGTERM/SIGINT stop like the deadline
    # What is loaded by now (Scrapy, Twisted, our modules) lives as long as the process: moved out
    # of the cyclic GC's generations, it is not scanned by each full collection during the crawl,
    # nor by the final one at exit (~0.2 s for a process that has nothing left to do).
    gc.freeze()
    process.start(install_signal_handlers=False)
    reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
    # A run stopped by its deadline did its job; the parent notes what stayed due.
    return 0 if reason in ("finished", DEADLINE_REASON, None) else 1


if __name__ == "__main__":
    sys.exit(main())
