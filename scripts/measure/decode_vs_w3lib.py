"""Measure: our decoding (tracker/extract/decode.py) against w3lib.encoding.html_to_unicode.

Run: .venv/bin/python scripts/measure/decode_vs_w3lib.py (needs ../shared/corpora). Figures are
written in tracker/extract/decode.py's docstring. w3lib gets charset_normalizer as its detector,
as ours uses it.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import charset_normalizer  # noqa: E402
from w3lib.encoding import html_to_unicode  # noqa: E402

from tests import newssite  # noqa: E402
from tracker.extract import decode as ours  # noqa: E402

TEXT = "Le café de la Reine a fermé ; l’autorité a jugé la vidéosurveillance illégale. " * 30
HTML = f"<html><head><title>Café</title></head><body><article><p>{TEXT}</p></article></body></html>"
META = f"<html><head><meta charset='windows-1252'></head><body><article><p>{TEXT}</p></article></body></html>"
WANT = "Le café de la Reine a fermé ; l’autorité"


def detect(body: bytes) -> str | None:
    guess = charset_normalizer.from_bytes(body[:200_000]).best()
    return guess.encoding if guess else None


def w3lib_decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=detect)
    return text, encoding


def cases() -> list[tuple[str, bytes, str, str]]:
    """tests/test_extract.py's charset cases, and tests/newssite.py's charset pages as served."""
    found = [
        ("cp1252, no charset", HTML.encode("cp1252"), "text/html", WANT),
        ("cp1252, header says utf-8", HTML.encode("cp1252"), "text/html; charset=utf-8", WANT),
        ("utf-8, header says iso-8859-1", HTML.encode(), "text/html; charset=iso-8859-1", WANT),
        ("utf-16 BOM", HTML.encode("utf-16"), "text/html", WANT),
        ("utf-8 BOM, header says iso-8859-1", b"\xef\xbb\xbf" + HTML.encode(), "text/html; charset=iso-8859-1", WANT),
        ("meta windows-1252", META.encode("cp1252"), "text/html", "vidéosurveillance illégale"),
    ]
    served = [
        ("newssite /charset/missing", "Café chain’s “smart” cameras estimate customers’ age",
         newssite.CHARSET_PARAGRAPHS, "windows-1252", "cp1252", "text/html"),
        ("newssite /charset/lying", "Café owner’s “age-guessing” cameras switched off",
         newssite.CHARSET_PARAGRAPHS[::-1], None, "cp1252", "text/html; charset=utf-8"),
        ("newssite /charset/latin1", "Fitnessstudio prüft Zutritt nur per Gesichtserkennung",
         newssite.LATIN1_PARAGRAPHS, None, "latin-1", "text/html"),
    ]
    for name, title, paragraphs, charset, codec, content_type in served:
        page = newssite.render_article(newssite.charset_article(title, paragraphs), "http://x/a", "http://x/a",
                                       charset=charset)
        found.append((name, page.encode(codec), content_type, title))
    return found


def main() -> None:
    print("case | ours | w3lib")
    for name, body, content_type, want in cases():
        row = []
        for decode in (ours._decode, w3lib_decode):
            text, encoding = decode(body, content_type)
            row.append(f"{'ok' if want in text and chr(0xFFFD) not in text else 'WRONG'} ({encoding})")
        print(name, "|", " | ".join(row))
    corpus = ROOT.parent / "shared/corpora/article-extraction-benchmark"
    keys = sorted(json.loads((corpus / "ground-truth.json").read_text()))
    bodies = [gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes()) for key in keys]
    differ = [key[:10] for key, body in zip(keys, bodies)
              if ours._decode(body, "text/html")[0] != w3lib_decode(body, "text/html")[0]]
    print(f"benchmark: {len(bodies)} pages, {len(differ)} decoded to a different text: {differ}")
    for name, decode in (("ours", ours._decode), ("w3lib", w3lib_decode)):
        best = min(_seconds(decode, bodies) for _ in range(20))
        print(f"{name}: {best / len(bodies) * 1e6:.0f} us a page (best of 20)")


def _seconds(decode, bodies: list[bytes]) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for body in bodies:
        decode(body, "text/html")
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
