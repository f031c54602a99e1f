"""`tracker bench extract`: score extract_page on the article-extraction benchmark.

The metric is the benchmark's own (its README.rst and evaluate.py): 4-gram shingles of \\w+ tokens,
per page true/false positives and false negatives normalised to sum 1, precision and recall averaged
over pages, F1 from the two averages. Plain `trafilatura.extract(html)` is scored in the same run.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tracker.config import PROJECT_ROOT
from tracker.errors import ConfigError, ExtractionError
from tracker.extract.options import ExtractOptions
from tracker.extract.page import extract_page
from tracker.extract.pool import ExtractorPool
from tracker.extract.text import extract_plain_text

logger = logging.getLogger(__name__)

DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark"
TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class BenchPage:
    key: str
    body: bytes  # UTF-8 HTML, as the benchmark ships it
    url: str
    truth: str


@dataclass(frozen=True)
class Scores:
    name: str
    precision: float
    recall: float
    f1: float
    pages: int
    seconds: float
    failures: int = 0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def load_corpus(corpus: Path = DEFAULT_CORPUS) -> list[BenchPage]:
    """Read ground-truth.json and html/<key>.html.gz, sorted by key."""
    truth_file = corpus / "ground-truth.json"
    if not truth_file.is_file():
        raise ConfigError(f"{truth_file}: benchmark ground truth not found")
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    return [BenchPage(key, gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes()),
                      item.get("url", ""), item.get("articleBody", ""))
            for key, item in sorted(truth.items())]


def run_extract_bench(corpus: Path = DEFAULT_CORPUS, workers: int = 2, repeat: int = 2,
                      options: ExtractOptions = ExtractOptions()) -> list[Scores]:  # noqa: B008 - frozen
    """Scores for plain trafilatura, extract_page in-process and in an ExtractorPool of `workers`.

    Each is timed `repeat` times and the fastest run kept (the first run also pays one-time lazy
    imports inside the libraries, and other processes share the machine); results are identical.
    """
    pages = load_corpus(corpus)
    htmls = [page.body.decode("utf-8") for page in pages]
    runs: list[tuple[str, Callable[[], list[str | None]]]] = [
        ("plain trafilatura.extract", lambda: [extract_plain_text(h) for h in htmls]),
        ("ours (extract_page)", lambda: [_ours(page, options) for page in pages]),
    ]
    results = [_best_of(repeat, name, pages, run) for name, run in runs]
    if workers > 0:
        with ExtractorPool(workers=workers, options=options) as pool:
            results.append(_best_of(repeat, f"ours, pool of {workers}", pages, lambda: _pooled(pool, pages)))
    return results


def _best_of(repeat: int, name: str, pages: Sequence[BenchPage],
             run: Callable[[], list[str | None]]) -> Scores:
    return min((_timed(name, pages, run) for _ in range(max(1, repeat))), key=lambda s: s.seconds)


def _ours(page: BenchPage, options: ExtractOptions) -> str | None:
    try:
        return extract_page(page.body, page.url, "text/html", options).text
    except ExtractionError as exc:
        logger.warning("%s: %s", page.key, exc)
        return None


def _pooled(pool: ExtractorPool, pages: Sequence[BenchPage]) -> list[str | None]:
    outcomes = pool.map([(page.body, page.url, "text/html") for page in pages])
    return [None if isinstance(o, ExtractionError) else o.text for o in outcomes]


def _timed(name: str, pages: Sequence[BenchPage], run: Callable[[], list[str | None]]) -> Scores:
    start = time.perf_counter()
    texts = run()
    seconds = time.perf_counter() - start
    precision, recall, f1 = score_texts([p.truth for p in pages], texts)
    return Scores(name, precision, recall, f1, len(pages), seconds, sum(t is None for t in texts))


def score_texts(truths: Sequence[str], predictions: Sequence[str | None]) -> tuple[float, float, float]:
    """(precision, recall, F1) of predictions against truths, as the benchmark's evaluate.py."""
    counts = [shingle_match(t, p or "") for t, p in zip(truths, predictions)]
    precision = statistics.mean(_ratio(tp, fp, fn, fp) for tp, fp, fn in counts if tp + fp > 0)
    recall = statistics.mean(_ratio(tp, fp, fn, fn) for tp, fp, fn in counts if tp + fn > 0)
    return precision, recall, 2 * precision * recall / (precision + recall)


def _ratio(tp: float, fp: float, fn: float, miss: float) -> float:
    if fp == fn == 0:
        return 1.0
    return tp / (tp + miss) if tp + miss else 0.0


def shingle_match(truth: str, prediction: str, n: int = 4) -> tuple[float, float, float]:
    """True positive, false positive, false negative shingle counts, normalised to sum 1."""
    true, pred = _shingles(truth, n), _shingles(prediction, n)
    tp = sum((true & pred).values())
    fp, fn = sum((pred - true).values()), sum((true - pred).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _shingles(text: str, n: int) -> Counter[tuple[str, ...]]:
    tokens = TOKEN.findall(text)
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])
