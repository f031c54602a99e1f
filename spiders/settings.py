"""Every crawl default, in one place: Scrapy's keys here, our own TRACKER_ keys from
tracker/crawl/defaults.py. `tracker crawl -s NAME=VALUE` overrides any of them for one run. Scrapy's
defaults are lax for a crawler of other people's URLs (no certificate checks, 1 GB bodies, 180 s
timeouts); these are not.
"""

from tracker import __version__
from tracker.crawl.defaults import *  # noqa: F403 - our TRACKER_ keys, overridable here like Scrapy's
from tracker.crawl.defaults import TRACKER_CONTACT_URL

BOT_NAME = "privacy-news-tracker"
SPIDER_MODULES = ["spiders.articles"]
NEWSPIDER_MODULE = "spiders"

# Who we are, and where a webmaster can reach us.
USER_AGENT = f"privacy-news-tracker/{__version__} (+{TRACKER_CONTACT_URL})"

# Politeness: robots.txt (and its Crawl-delay, see extensions.CrawlDelayThrottle), a small per-host
# concurrency, a base delay that AutoThrottle raises for slow hosts.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
# A robots.txt Crawl-delay is a minimum; Scrapy's default 0.5x-1.5x randomisation would undercut it.
DOWNLOAD_DELAY_JITTER = 0
AUTOTHROTTLE_ENABLED = True  # served by our subclass (EXTENSIONS below), which honours Crawl-delay
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Limits instead of Scrapy's lax defaults.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024  # also caps the decompressed size (gzip bombs)
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
DNS_TIMEOUT = 15
# Lookups block a thread of the reactor's pool each (Scrapy's 10 by default): when DNS answers
# nothing, 10 threads made an outage of 2,775 articles with 2 s lookups take 440 s. One thread per
# request the downloader may hold.
REACTOR_THREADPOOL_MAXSIZE = 32
DOWNLOAD_VERIFY_CERTIFICATES = True
METAREFRESH_ENABLED = False
COOKIES_ENABLED = False
# No listening socket in a crawl: Scrapy's telnet console and its remote-control HTTP endpoint
# (on by default since 2.19: it runs posted Python code in the crawl) both stay off.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Retries with exponential back-off (and Retry-After) on 429, 5xx and network errors.
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]



DOWNLOADER_MIDDLEWARES = {
    "spiders.middlewares.AttemptClockMiddleware": 10,  # elapsed_ms covers the whole attempt
    "spiders.faults.HostCircuitBreaker": 40,  # a host that is down: fail before DNS or robots.txt
    "spiders.middlewares.PublicAddressMiddleware": 50,  # before robots.txt: its fetch is checked too
    "spiders.middlewares.HostMemoryMiddleware": 60,  # waits out the delay a previous run owed a host
    # Scrapy's, fixed: it let all but one request waiting for a robots.txt through unchecked.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "spiders.middlewares.WaitingRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.middlewares.BackoffRetryMiddleware": 550,
    "spiders.faults.HostFailureCounter": 560,  # sees each attempt's failure before the retry
}
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "scrapy.extensions.remote_control.RemoteControl": None,  # see REMOTE_CONTROL_ENABLED
    "spiders.extensions.CrawlDelayThrottle": 0,
    "spiders.faults.RunDeadline": 0,
}
ITEM_PIPELINES = {
    "spiders.pipelines.ArchivePipeline": 100,
    "spiders.pipelines.ExtractSavePipeline": 200,
}

# Extraction.
# Items in parallel per response. A response gives one PageResult (and maybe a fallback request);
# Scrapy starts this many asyncio tasks per response whatever it yields, so its 100 cost ~1 ms of
# the main process per page. Pages are still processed in parallel across responses.
CONCURRENT_ITEMS = 2


LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
