"""Our own crawl settings (the TRACKER_ keys) and their defaults.

They live in the library, not in the Scrapy project, so that code which never starts Scrapy (the Redis
queue, the writer, the scheduled job) reads the same defaults without importing `spiders`: imports go
one way, from `spiders/` into `tracker/`. `spiders/settings.py` takes every name from here, so Scrapy's
`-s NAME=VALUE` (and `tracker crawl -s`) overrides any of them for one run.
"""

from __future__ import annotations

# Where a webmaster can reach us (USER_AGENT in spiders/settings.py names it).
TRACKER_CONTACT_URL = "https://github.com/privacy-news-tracker/tracker"

# Politeness: a robots.txt Crawl-delay asking for more than this is capped here (and logged).
TRACKER_MAX_CRAWL_DELAY = 60.0

# Retries with exponential back-off (and Retry-After) on 429, 5xx and network errors.
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

# Storage and extraction.
TRACKER_DB = "data/tracker.db"
TRACKER_WARC_DIR = ""  # default: warc/ beside the database
TRACKER_WARC_MAX_BYTES = 100 * 1024 * 1024
TRACKER_WARC_GZIP_LEVEL = 1  # 1-9; 9 (warcio's own) costs ~6x the CPU for ~20% smaller files
TRACKER_EXTRACT_WORKERS = 2
TRACKER_EXTRACT_TIMEOUT = 20.0
TRACKER_EXTRACT_MAX_CHARS = 5_000_000
TRACKER_LIMIT = 0  # 0: every due article
TRACKER_RECRAWL_AFTER = ""  # e.g. 6h: also revisit articles fetched longer ago than this
TRACKER_RUN_ID = 0

# Discovery (tracker/discover/, spiders/discovery.py): polling feeds, news sitemaps, listing pages.
TRACKER_SPIDER = "articles"  # the crawl process's spider: "articles", or "sources" for the poll
TRACKER_SOURCE_MAX_BYTES = 5 * 1024 * 1024  # a feed or sitemap past this is not read (the poll's error)
TRACKER_SOURCE_MAX_ITEMS = 1000  # items taken from one response (sources list newest first)
TRACKER_SOURCE_MAX_SITEMAPS = 50  # sitemaps read in one poll of a sitemap index (loops stop sooner)
TRACKER_SOURCES_ALL = False  # poll every active source, due or not (benchmarks)
# A discovered article tagged below this relevance is off the beat: kept, hidden by default (0.3: it
# names no regulator or law; see tracker/lens/relevance.py).
TRACKER_BEAT_RELEVANCE = 0.3
# Share of the run's remaining time (TRACKER_MAX_RUNTIME) the poll may use before the crawl starts.
TRACKER_DISCOVERY_SHARE = 0.5

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
