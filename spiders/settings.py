"""Every crawl default, in one place. Our own keys are prefixed TRACKER_; `tracker crawl -s NAME=VALUE`
overrides any of them for one run. Scrapy's defaults are lax for a crawler of other people's URLs
(no certificate checks, 1 GB bodies, 180 s timeouts); these are not.
"""

from tracker import __version__

BOT_NAME = "privacy-news-tracker"
SPIDER_MODULES = ["spiders.articles"]
NEWSPIDER_MODULE = "spiders"

# Who we are, and where a webmaster can reach us.
TRACKER_CONTACT_URL = "https://github.com/privacy-news-tracker/tracker"
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
TRACKER_MAX_CRAWL_DELAY = 60.0  # a robots.txt asking for more is capped here (and logged)

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
TRACKER_RETRY_BACKOFF_BASE = 1.0  # seconds; doubled at each retry
TRACKER_RETRY_BACKOFF_MAX = 30.0  # seconds; a longer Retry-After is left to the next run

# Only http(s), and only public addresses unless allowed (checked after DNS and on every redirect).
TRACKER_ALLOW_PRIVATE = False
TRACKER_ALLOWED_NETWORKS: list[str] = []  # e.g. ["127.0.0.0/8"] for a local mirror
TRACKER_DNS_CHECK_CACHE_SECONDS = 60.0  # reuse a host's checked addresses this long (0: every request)

# Network faults (spiders/faults.py): after this many connection-level failures in a row (DNS,
# refused, reset, TLS, timeout; retries and robots.txt count) a host's other requests in this run
# are not sent but recorded as host_down (0: off). The run of failures is reset by any HTTP
# response ("response") or only by one below 500 ("success").
TRACKER_HOST_FAILURES = 3
TRACKER_HOST_FAILURES_RESET = "response"
# Whole-run deadline: no new request after this long (e.g. 45m; "" for none); in-flight pages
# finish, the rest stays due. TRACKER_DEADLINE is the same as an epoch time (set by `tracker run`).
TRACKER_MAX_RUNTIME = ""
TRACKER_DEADLINE = 0

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

# Storage and extraction.
TRACKER_DB = "data/tracker.db"
TRACKER_WARC_DIR = ""  # default: warc/ beside the database
TRACKER_WARC_MAX_BYTES = 100 * 1024 * 1024
TRACKER_WARC_GZIP_LEVEL = 1  # 1-9; 9 (warcio's own) costs ~6x the CPU for ~20% smaller files
TRACKER_EXTRACT_WORKERS = 2
# Items in parallel per response. A response gives one PageResult (and maybe a fallback request);
# Scrapy starts this many asyncio tasks per response whatever it yields, so its 100 cost ~1 ms of
# the main process per page. Pages are still processed in parallel across responses.
CONCURRENT_ITEMS = 2
TRACKER_EXTRACT_TIMEOUT = 20.0
TRACKER_EXTRACT_MAX_CHARS = 5_000_000
TRACKER_LIMIT = 0  # 0: every due article
TRACKER_RECRAWL_AFTER = ""  # e.g. 6h: also revisit articles fetched longer ago than this
TRACKER_RUN_ID = 0

# Distributed crawl (`tracker crawl --redis URL`: this process is a worker; see tracker/crawl/queue.py).
TRACKER_REDIS_URL = ""  # empty: the single-machine crawl
TRACKER_REDIS_PREFIX = "tracker"  # key prefix: two trackers can share one Redis
TRACKER_LEASE_SECONDS = 300.0  # a job not renewed this long (its worker died) goes to another worker
TRACKER_MAX_DELIVERIES = 5  # a job handed out this often (it kills workers) is recorded as failed
# a job held this long by a live worker is stuck, not slow (a page's worst case is minutes: timeouts,
# retries, back-off, host delays): its lease is no longer renewed, so another worker takes it
TRACKER_JOB_MAX_SECONDS = 1800.0
TRACKER_WORKER_PREFETCH = 64  # jobs one worker holds at once (leased, in its scheduler or in flight)
TRACKER_WORKER_IDLE_EXIT = 0.0  # seconds with nothing to do before a worker exits (0: never)
TRACKER_HOST_SLOT_MARGIN = 0.05  # seconds added to each shared per-host delay (grant-to-send slack)

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
