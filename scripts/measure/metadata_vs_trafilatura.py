"""Measure: our metadata (tracker/extract/metadata.py: JSON-LD, meta tags, htmldate) against
trafilatura.extract_metadata: title, author, published day, site name; and the cost per page.

Run: .venv/bin/python scripts/measure/metadata_vs_trafilatura.py [-v] (needs ../shared/corpora).
The benchmark has ground truth for the text only, so there the two are compared with each other
(-v prints every disagreement to read); the local news site (tests/newssite.py) states its truth.
"""

import gzip
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from tests import newssite  # noqa: E402
from tracker.extract.decode import decode_html  # noqa: E402
from tracker.extract.metadata import extract_metadata, find_article_jsonld, read_meta_tags  # noqa: E402
from tracker.extract.options import ExtractOptions  # noqa: E402

OPTIONS = ExtractOptions(max_date="2026-12-01")
FIELDS = ("title", "author", "published", "site_name")


def norm(value):
    return " ".join(re.findall(r"\w+", value.lower())) if value else ""


def ours(tree, url):
    meta = extract_metadata(tree, url, find_article_jsonld(tree), read_meta_tags(tree), OPTIONS)
    return {f: meta[f] for f in FIELDS}


def theirs(tree, url):
    doc = trafilatura.extract_metadata(tree, default_url=url,
                                       date_config={"max_date": OPTIONS.max_date, "original_date": True,
                                                    "extensive_search": True})
    return {"title": doc.title, "author": doc.author, "published": doc.date, "site_name": doc.sitename}


def same(field, a, b):
    if field == "published":
        return (a or "")[:10] == (b or "")[:10]
    return norm(a) == norm(b)


def load_benchmark():
    corpus = ROOT.parent / "shared/corpora/article-extraction-benchmark"
    truth = json.loads((corpus / "ground-truth.json").read_text())
    for key in sorted(truth):
        body = gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes())
        yield key[:10], body, truth[key]["url"]


def load_newssite():
    arts = dict(newssite.ARTICLES)
    arts.update({f"gen-{n}": newssite.generated_article(n) for n in range(20)})
    for key, art in arts.items():
        url = f"http://127.0.0.1/news/{key}.html"
        truth = {"title": art.headline, "author": art.author, "published": art.published,
                 "site_name": newssite.SITE_NAME}
        yield key, newssite.render_article(art, url, url).encode(), url, truth


def trees(pages):
    return [(key, trafilatura.load_html(decode_html(body, url, "text/html", 5_000_000)[0]), url, *rest)
            for key, body, url, *rest in pages]


def cost(fn, pages):
    best = 1e9
    for _ in range(3):
        start = time.perf_counter()
        for _key, tree, url, *_ in pages:
            fn(tree, url)
        best = min(best, time.perf_counter() - start)
    return best / len(pages) * 1000


def main(verbose):
    bench = trees(load_benchmark())
    agree = dict.fromkeys(FIELDS, 0)
    filled = {name: dict.fromkeys(FIELDS, 0) for name in ("ours", "trafilatura")}
    for key, tree, url in bench:
        a, b = ours(tree, url), theirs(tree, url)
        for f in FIELDS:
            filled["ours"][f] += bool(a[f])
            filled["trafilatura"][f] += bool(b[f])
            if same(f, a[f], b[f]):
                agree[f] += 1
            elif verbose:
                print(f"{key} {f}: ours={a[f]!r} trafilatura={b[f]!r}")
    print(f"benchmark, {len(bench)} pages: field | agree | filled by ours | filled by trafilatura")
    for f in FIELDS:
        print(f"  {f} | {agree[f]} | {filled['ours'][f]} | {filled['trafilatura'][f]}")
    site = trees(load_newssite())
    right = {name: dict.fromkeys(FIELDS, 0) for name in ("ours", "trafilatura")}
    for key, tree, url, truth in site:
        for name, fn in (("ours", ours), ("trafilatura", theirs)):
            got = fn(tree, url)
            for f in FIELDS:
                if same(f, got[f], truth[f]):
                    right[name][f] += 1
                elif verbose:
                    print(f"newssite {key} {f} {name}: {got[f]!r} (truth {truth[f]!r})")
    print(f"newssite, {len(site)} pages: field | right by ours | right by trafilatura")
    for f in FIELDS:
        print(f"  {f} | {right['ours'][f]} | {right['trafilatura'][f]}")
    for name, fn in (("ours", ours), ("trafilatura", theirs)):
        print(f"cost, {name}: {cost(fn, bench):.2f} ms a benchmark page, {cost(fn, site):.2f} ms a newssite page"
              " (best of 3)")


if __name__ == "__main__":
    main("-v" in sys.argv)
