"""Seed loading through the CLI: the given seed, all of ../shared/seeds, bad files, reloads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from click.testing import CliRunner, Result

from tracker.cli import main

GIVEN = "seeds/given/000_41a8f4ef254bfa53.txt"
URL_FIELDS = ("webUrl", "sourceUrl", "originalUrl", "ampWebUrl", "ampUrl", "cdnAmpWebUrl", "cdnAmpUrl")
PRIMARY_FIELDS = ("webUrl", "sourceUrl", "originalUrl")
GOOD_URL = "https://www.example.com/news/2021/01/good-story.html"


def seed(title: str = "A good story", url: str = GOOD_URL, extra: str = "",
         related: list[tuple[str, str]] | None = None) -> str:
    """A seed file's text in the shared seeds' format; related is a list of (title, webUrl)."""
    lines = ["---", "category: news", f'title: "{title}"',
             'publishedDateTime: 2021-01-05T10:00:00Z', f'webUrl: "{url}"', "type: article"]
    lines += [line for line in extra.strip("\n").splitlines()]
    lines += ["provider:", "  name: Example News", "  domain: example.com"]
    if related:
        lines.append("related:")
        for rel_title, rel_url in related:
            lines += [f'  - title: "{rel_title}"', f'    webUrl: "{rel_url}"', "    type: article"]
    lines += ["---", "", "Body text.", ""]
    return "\n".join(lines)


def load(runner: CliRunner, db_path: Path, *paths: Path | str) -> Result:
    return runner.invoke(main, ["seeds", "load", *map(str, paths), "--db", str(db_path)])


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


# --- The given seed and all of ../shared/seeds ----------------------------------------------------

def test_given_seed_loads_seven_articles_and_six_relations(
        runner: CliRunner, db_path: Path, shared_dir: Path, rows: Callable[..., Any]) -> None:
    path = shared_dir / GIVEN
    result = load(runner, db_path, path)
    assert result.exit_code == 0, result.output
    assert rows(db_path, "SELECT COUNT(*) FROM articles") == [(7,)]
    assert rows(db_path, "SELECT COUNT(*) FROM relations") == [(6,)]
    [(seed_id, sha)] = rows(db_path, "SELECT article_id, sha256 FROM seed_files WHERE path LIKE ?",
                            (f"%{path.name}",))
    assert len(sha) == 64
    main_row = rows(db_path, "SELECT title, publisher, publisher_domain, published, url, topics "
                             "FROM articles WHERE id = ?", (seed_id,))[0]
    assert main_row[:4] == ("Facial recognition toilet paper dispensers in China put on hold as "
                            "privacy concerns grow", "South China Morning Post", "scmp.com",
                            "2020-12-07T06:11:00Z")
    assert main_row[4].startswith("https://www.scmp.com/tech/article/3112836/")
    assert json.loads(main_row[5]) == ["Computer Vision", "AI"]
    related = rows(db_path, "SELECT a.title, a.publisher, a.published FROM relations r "
                            "JOIN articles a ON a.id = r.related_id WHERE r.article_id = ? "
                            "ORDER BY r.position", (seed_id,))
    assert related == [
        ("Privacy advocates poop on UK supermarket’s facial recognition system", "The Next Web",
         "2020-12-11T17:33:00Z"),
        ("Advocates to press Biden, Congress on facial recognition curbs", "Roll Call",
         "2020-12-08T11:39:00Z"),
        ("Privacy Groups Alarmed at Supermarket’s Facial Recognition Trial",
         "Infosecurity Magazine", "2020-12-11T12:30:00Z"),  # the outlets table beats the seed's name
        ("Southern Co-op defends facial recognition tech after privacy backlash", "The Grocer",
         "2020-12-11T15:40:00Z"),
        ("Advocates to press Biden administration, Congress on facial recognition curbs", "Security",
         "2020-12-08T17:07:00Z"),
        ("Trial of facial recognition system at Co-op stores sparks alarm among privacy advocates",
         "Computing", "2020-12-11T08:08:00Z"),
    ]
    # the SCMP item's four URLs are aliases of the one article, with their kinds
    kinds = rows(db_path, "SELECT kind FROM urls WHERE article_id = ? ORDER BY kind", (seed_id,))
    assert kinds == [("amp",), ("cdn_amp",), ("web",)]  # originalUrl == webUrl: one alias


def _front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    body = text.split("\n", 1)[1]
    end = re.search(r"^---\s*$", body, re.M)
    assert end is not None, path
    return yaml.load(body[:end.start()], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _expected_counts(files: list[Path]) -> tuple[int, int, int]:
    """(distinct primary URLs, stories, relations) computed from the raw YAML, not by tracker code.

    A story is a set of raw URL strings linked by being fields of one item (union-find); a relation
    is a distinct (file, related story) pair. Canonicalisation may only merge further."""
    parent: dict[str, str] = {}

    def find(url: str) -> str:
        while parent.setdefault(url, url) != url:
            url = parent[url]
        return url

    primary: set[str] = set()
    per_file: list[tuple[Path, list[str]]] = []
    for path in files:
        data = _front_matter(path)
        items = [data, *(data.get("related") or [])]
        firsts = []
        for item in items:
            urls = [item[f].strip() for f in URL_FIELDS if isinstance(item.get(f), str) and item[f].strip()]
            primary.add(next(item[f].strip() for f in PRIMARY_FIELDS if item.get(f)))
            for other in urls[1:]:
                parent[find(other)] = find(urls[0])
            firsts.append(find(urls[0]))
        per_file.append((path, firsts))
    relations = {(path, find(url)) for path, firsts in per_file for url in firsts[1:]}
    return len(primary), len({find(url) for url in parent}), len(relations)


def test_all_shared_seeds_load(runner: CliRunner, db_path: Path, shared_dir: Path,
                               rows: Callable[..., Any], dump_db: Callable[[Path], Any]) -> None:
    files = sorted(p for p in (shared_dir / "seeds").rglob("*") if p.suffix in (".md", ".txt"))
    distinct_urls, stories, relations = _expected_counts(files)
    # what the shared data guarantees, not how many files it holds today: both variants of the format
    variants = {"webUrl" in _front_matter(p) or "originalUrl" in _front_matter(p) for p in files}
    assert len(files) > 100 and variants == {True, False}

    result = load(runner, db_path, shared_dir / "seeds")
    assert result.exit_code == 0, result.output
    assert error_lines(result) == []
    assert rows(db_path, "SELECT COUNT(*), SUM(status = 'loaded') FROM seed_files") == [(len(files), len(files))]
    [(articles,)] = rows(db_path, "SELECT COUNT(*) FROM articles")
    assert 0.97 * distinct_urls <= articles <= distinct_urls  # aliases merged, nothing dropped
    assert 0.995 * stories <= articles <= stories
    [(stored,)] = rows(db_path, "SELECT COUNT(*) FROM relations")
    assert 0.995 * relations <= stored <= relations  # only canonicalisation merges may fold pairs
    assert f"{articles} articles" in result.stdout and f"{stored} relations" in result.stdout
    # every related file keeps its relations, in order; every relation points at a real article
    assert rows(db_path, "SELECT COUNT(*) FROM relations r LEFT JOIN articles a ON a.id = r.related_id "
                         "LEFT JOIN articles b ON b.id = r.article_id "
                         "WHERE a.id IS NULL OR b.id IS NULL") == [(0,)]
    assert rows(db_path, "SELECT COUNT(*) FROM articles WHERE title IS NULL") == [(0,)]

    before = dump_db(db_path)
    again = load(runner, db_path, shared_dir / "seeds")
    assert again.exit_code == 0 and f"{len(files)} unchanged" in again.stdout
    assert dump_db(db_path) == before


OLD_VARIANT = (
    "---\n"
    'title: "EU mulls five-year ban on facial recognition"\n'
    "publishedDateTime: 2020-01-16T20:58:00Z\n"
    "sourceUrl: https://www.reuters.com/article/us-eu-ai-idUSKBN1ZF2QL\n"
    "ampUrl: https://mobile.reuters.com/article/amp/idUSKBN1ZF2QL\n"
    "cdnAmpUrl: https://mobile-reuters-com.cdn.ampproject.org/c/s/mobile.reuters.com/article/"
    "amp/idUSKBN1ZF2QL\n"
    "provider:\n  name: Reuters\n  domain: reuters.com\n"
    "---\n")


# --- Bad files ------------------------------------------------------------------------------------

BAD_FILES = {
    "invalid YAML": (seed(extra="excerpt: a: b"), r"line 7: invalid YAML"),
    "no usable URL": (seed().replace(f'webUrl: "{GOOD_URL}"\n', ""), r"no usable URL"),
    "ftp URL only": (seed(url="ftp://example.com/story.txt"), r"webUrl: only http"),
    "unparseable date": (seed().replace("2021-01-05T10:00:00Z", '"sometime last spring"'),
                         r"publishedDateTime: not a date"),
    "title a mapping": (seed().replace('title: "A good story"', "title: {text: A good story}"),
                        r"title: expected text, got dict"),
    "related not a list": (seed(extra='related: "https://www.example.com/other.html"'),
                           r"related: expected a list, got str"),
    # A bad related item is no longer a bad file: the seed loads without it (tests/test_hostile.py).
    "topics a mapping": (seed(extra="topics: {AI: 1}"), r"topics: expected a list"),
    "provider a string": (seed().replace("provider:\n  name: Example News\n  domain: example.com",
                                         "provider: Example News"), r"provider: expected a mapping"),
    "front matter a list": ("---\n- a\n- b\n---\n", r"expected a mapping"),
    "front matter never ends": (seed().replace("---\n\nBody", "\nBody"), r"never ends"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_file_gives_one_error_and_good_files_still_load(
        kind: str, runner: CliRunner, db_path: Path, write_seed: Callable[..., Path],
        rows: Callable[..., Any]) -> None:
    text, message = BAD_FILES[kind]
    good = write_seed("a-good.md", seed(url="https://www.example.com/news/fine.html", title="Fine"))
    bad = write_seed("b-bad.md", text)
    other = write_seed("sub/c-good.txt", seed(url="https://www.example.com/news/also.html"))
    result = load(runner, db_path, good.parent)
    assert result.exit_code != 0
    [line] = error_lines(result)
    assert str(bad) in line and re.search(message, line), line
    assert "1 errors" in result.stdout
    titles = rows(db_path, "SELECT url, title FROM articles ORDER BY url")
    assert ("https://www.example.com/news/fine.html", "Fine") in titles
    assert ("https://www.example.com/news/also.html", "A good story") in titles
    assert rows(db_path, "SELECT path FROM seed_files ORDER BY path") == [(str(good),), (str(other),)]


def test_no_front_matter_is_an_error_when_named_and_a_note_in_a_folder(
        runner: CliRunner, db_path: Path, write_seed: Callable[..., Path], rows: Callable[..., Any]) -> None:
    write_seed("good.md", seed())
    readme = write_seed("README.md", "# Seeds\n\nThis folder holds seed files.\n")
    in_folder = load(runner, db_path, readme.parent)
    assert in_folder.exit_code == 0, in_folder.output
    assert error_lines(in_folder) == []
    assert f"{readme}: skipped, no YAML front matter" in in_folder.stderr
    assert "1 skipped" in in_folder.stdout
    assert rows(db_path, "SELECT url FROM articles") == [(GOOD_URL,)]

    named = load(runner, db_path, readme)
    assert named.exit_code != 0
    [line] = error_lines(named)
    assert str(readme) in line and "no YAML front matter" in line


def test_dashes_inside_a_url_do_not_end_the_front_matter(
        runner: CliRunner, db_path: Path, write_seed: Callable[..., Path], rows: Callable[..., Any]) -> None:
    url = "https://www.marketwatch.com/press-release/ai-market---industry-insights-2020-01-16"
    related_url = "https://www.example.com/a---b/"
    path = write_seed("dashes.md", seed(url=url, related=[("Rel", related_url)]) + "---\nmore\n---\n")
    result = load(runner, db_path, path)
    assert result.exit_code == 0, result.output
    assert rows(db_path, "SELECT url FROM articles ORDER BY id") == [(url,), (related_url,)]
    assert rows(db_path, "SELECT COUNT(*) FROM relations") == [(1,)]


def test_mojibake_is_repaired(runner: CliRunner, db_path: Path, write_seed: Callable[..., Path],
                              rows: Callable[..., Any]) -> None:
    text = seed(title="Franceâ€™s CNIL fines Google â‚¬100m over cookies",
                extra='excerpt: "The cafÃ© owners â€“ and their staff"')
    write_seed("a-mojibake.md", text)
    cp1252 = seed(title="Café owners fight “smart” cameras", url="https://www.example.com/cafe.html")
    result = load(runner, db_path, write_seed("b-windows.md", cp1252.encode("cp1252")).parent)
    assert result.exit_code == 0, result.output
    assert rows(db_path, "SELECT title, excerpt FROM articles ORDER BY id") == [
        ("France’s CNIL fines Google €100m over cookies", "The café owners – and their staff"),
        ("Café owners fight “smart” cameras", None),
    ]


@pytest.mark.parametrize(("value", "expected"), [
    ("2020-12-07T06:11:00Z", "2020-12-07T06:11:00Z"),  # PyYAML: aware datetime
    ("2020-12-07T08:11:00+02:00", "2020-12-07T06:11:00Z"),  # datetime with an offset
    ('"2020-12-07T01:11:00-05:00"', "2020-12-07T06:11:00Z"),  # string with an offset
    ('"2020-12-07T06:11:00"', "2020-12-07T06:11:00Z"),  # naive string: taken as UTC
    ("2020-12-07 06:11:00", "2020-12-07T06:11:00Z"),  # naive datetime: taken as UTC
    ('"Mon, 07 Dec 2020 07:11:00 +0100"', "2020-12-07T06:11:00Z"),  # RFC 2822 string
    ("2020-12-07", "2020-12-07T00:00:00Z"),  # PyYAML: date
    ('"2020-12-07"', "2020-12-07T00:00:00Z"),
    ('""', None),
])
def test_dates_are_stored_in_utc(value: str, expected: str | None, runner: CliRunner, db_path: Path,
                                 write_seed: Callable[..., Path], rows: Callable[..., Any]) -> None:
    path = write_seed("dated.md", seed().replace("2021-01-05T10:00:00Z", value))
    result = load(runner, db_path, path)
    assert result.exit_code == 0, result.output
    assert rows(db_path, "SELECT published, published_source FROM articles") == [
        (expected, "seed" if expected else None)]


def test_older_variant_fields(runner: CliRunner, db_path: Path, write_seed: Callable[..., Path],
                              rows: Callable[..., Any], shared_dir: Path) -> None:
    result = load(runner, db_path, write_seed("old.md", OLD_VARIANT))
    assert result.exit_code == 0, result.output
    [(article_id, url, title)] = rows(db_path, "SELECT id, url, title FROM articles")
    assert url == "https://www.reuters.com/article/us-eu-ai-idUSKBN1ZF2QL"
    assert title == "EU mulls five-year ban on facial recognition"
    assert rows(db_path, "SELECT kind, article_id FROM urls ORDER BY kind") == [
        ("amp", article_id), ("cdn_amp", article_id), ("web", article_id)]

    real = next((shared_dir / "seeds/emilianoyoung-ai/_posts").glob("2020-01-08-5-trends-*.md"))
    assert load(runner, db_path, real).exit_code == 0
    expected = _front_matter(real)
    assert rows(db_path, "SELECT title, published FROM articles WHERE url = ?",
                (expected["sourceUrl"],)) == [(expected["title"], "2020-01-08T20:58:00Z")]


def test_file_with_only_original_url(runner: CliRunner, db_path: Path, shared_dir: Path,
                                     rows: Callable[..., Any]) -> None:
    real = shared_dir / "seeds/smartable-power-apps/_news/2021-02-01-governing-at-scale.md"
    result = load(runner, db_path, real)
    assert result.exit_code == 0, result.output
    assert rows(db_path, "SELECT url, title, publisher, published FROM articles") == [
        ("https://youtube.com/watch?v=m8_wjf1PkAc", "Governing at scale", "Microsoft",
         "2021-02-01T16:00:24Z")]
    assert rows(db_path, "SELECT kind FROM urls") == [("original",)]


# --- Reloads --------------------------------------------------------------------------------------

RELATED = [("One", "https://www.one.com/1.html"), ("Two", "https://www.two.com/2.html")]


def test_reload_is_idempotent(runner: CliRunner, db_path: Path, write_seed: Callable[..., Path],
                              dump_db: Callable[[Path], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_seed("a.md", seed(related=RELATED)).parent
    write_seed("b.md", seed(url="https://www.example.com/b.html", related=RELATED[:1]))
    assert load(runner, db_path, folder).exit_code == 0
    first = dump_db(db_path)
    assert len(first["articles"]) == 4 and len(first["relations"]) == 3
    second = load(runner, db_path, folder)
    assert second.exit_code == 0 and "2 unchanged" in second.stdout
    assert dump_db(db_path) == first
    # the same files named another way (relative to another current folder) are the same seeds
    monkeypatch.chdir(folder.parent)
    assert load(runner, db_path, Path(folder.name)).exit_code == 0
    assert dump_db(db_path) == first


def test_changed_seed_updates_its_rows(runner: CliRunner, db_path: Path, write_seed: Callable[..., Path],
                                       rows: Callable[..., Any]) -> None:
    path = write_seed("a.md", seed(title="First title", related=RELATED))
    assert load(runner, db_path, path).exit_code == 0
    [(old_sha,)] = rows(db_path, "SELECT sha256 FROM seed_files")
    three = ("Three", "https://www.three.com/3.html")
    write_seed("a.md", seed(title="Second title", related=[RELATED[1], three]))
    result = load(runner, db_path, path)
    assert result.exit_code == 0 and "1 ok" in result.stdout
    assert rows(db_path, "SELECT title FROM articles WHERE url = ?", (GOOD_URL,)) == [("Second title",)]
    assert rows(db_path, "SELECT a.url FROM relations r JOIN articles a ON a.id = r.related_id "
                         "ORDER BY r.position") == [(RELATED[1][1],), (three[1],)]
    assert rows(db_path, "SELECT COUNT(*) FROM articles") == [(4,)]  # "One" stays an article
    [(new_sha,)] = rows(db_path, "SELECT sha256 FROM seed_files")
    assert new_sha != old_sha


def test_seed_changed_to_bad_keeps_stored_rows(runner: CliRunner, db_path: Path,
                                               write_seed: Callable[..., Path],
                                               dump_db: Callable[[Path], Any]) -> None:
    path = write_seed("a.md", seed(related=RELATED))
    assert load(runner, db_path, path).exit_code == 0
    before = dump_db(db_path)
    write_seed("a.md", seed(related=RELATED).replace('title: "A good story"', "title: [a, list]"))
    result = load(runner, db_path, path)
    assert result.exit_code != 0
    [line] = error_lines(result)
    assert str(path) in line and "title" in line
    assert dump_db(db_path) == before


def test_merge_through_a_shared_alias_keeps_relations(
        runner: CliRunner, db_path: Path, write_seed: Callable[..., Path], rows: Callable[..., Any]) -> None:
    """Items whose aliases join two stored articles fold them into one, relations repointed."""
    a, b, c = (f"https://www.example.com/{n}.html" for n in "abc")
    x = "https://www.x.com/x.html"
    first = write_seed("1.md", seed(url=a, related=[("X", x)]))
    second = write_seed("2.md", seed(url=b, related=[("X", x)]))
    write_seed("3.md", seed(url=c))
    # 4 joins b and c (c's AMP form), then 5 joins a and b: a chain of merges
    write_seed("4.md", seed(url="https://www.y.com/y.html",
                            extra=f'related:\n  - webUrl: "{b}"\n    ampWebUrl: '
                                  f'"https://www.example.com/amp/c.html"'))
    write_seed("5.md", seed(url="https://www.z.com/z.html",
                            extra=f'related:\n  - webUrl: "{a}"\n    ampWebUrl: '
                                  f'"https://www.example.com/b.html?outputType=amp"'))
    result = load(runner, db_path, first.parent)
    assert result.exit_code == 0, result.output
    [(merged_id,)] = rows(db_path, "SELECT article_id FROM urls WHERE url = ?", (a,))
    assert rows(db_path, "SELECT DISTINCT article_id FROM urls WHERE url IN (?, ?, ?)", (a, b, c)) == [
        (merged_id,)]
    assert rows(db_path, "SELECT COUNT(*) FROM articles") == [(4,)]  # merged, x, y, z
    assert rows(db_path, "SELECT seed_path, article_id FROM relations WHERE related_id = "
                         "(SELECT article_id FROM urls WHERE url = ?) ORDER BY seed_path", (x,)) == [
        (str(first), merged_id), (str(second), merged_id)]
    assert rows(db_path, "SELECT COUNT(*) FROM article_merges") == [(2,)]
    assert rows(db_path, "PRAGMA foreign_key_check") == []


def test_one_numbered_article_under_three_slugs_is_one_article(
        runner: CliRunner, db_path: Path, write_seed: Callable[..., Path], rows: Callable[..., Any]) -> None:
    """A platform's /<id>.article URLs under renamed slugs and a moved section are one article."""
    base = "https://www.complianceweek.com/{}/28338.article"
    slugs = ("financial-services/six-strategies-for-fintech-adoption-in-banking",
             "financial-services/six-strategies-for-fintech-adoption",
             "risk-management/six-strategies-for-fintech-adoption-in-banking")
    for n, slug in enumerate(slugs):
        write_seed(f"{n}.md", seed(title="Six strategies for FinTech adoption in banking",
                                   url=f"https://www.other{n}.example/story.html",
                                   related=[("Six strategies", base.format(slug))]))
    result = load(runner, db_path, write_seed("3.md", seed(url=base.format("news/other"), title="Other")).parent)
    assert result.exit_code == 0, result.output
    assert rows(db_path, "SELECT COUNT(DISTINCT article_id) FROM urls WHERE url LIKE '%28338.article'") == [(1,)]
    assert rows(db_path, "SELECT COUNT(*) FROM articles WHERE url LIKE '%complianceweek%'") == [(1,)]
    assert rows(db_path, "SELECT COUNT(*) FROM articles") == [(4,)]  # it and the three seeds' own


def test_check_writes_nothing(runner: CliRunner, tmp_path: Path, write_seed: Callable[..., Path],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_seed("a.md", seed(related=RELATED)).parent
    write_seed("bad.md", seed(extra="topics: {AI: 1}"))
    target = tmp_path / "env.db"
    monkeypatch.setenv("TRACKER_DB", str(target))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["seeds", "check", str(folder)])
    assert result.exit_code == 1
    assert "2 files (1 ok, 0 unchanged, 0 skipped, 1 errors), 3 articles" in result.stdout
    assert "2 relations" in result.stdout
    [line] = error_lines(result)
    assert "bad.md" in line and "topics" in line
    assert not target.exists() and not (tmp_path / "data").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seeds"]
