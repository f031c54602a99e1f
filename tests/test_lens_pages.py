"""The lens as stored data (story_lens, story_tag_links, lens_tags) and the lens pages' filters and
facets, against real SQLite and a real `tracker serve`."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

from tests.test_lens import add_article, stored, taxonomy_dir  # noqa: F401 (a fixture)
from tests.test_serve import get, get_json, serving
from tracker.lens.tag_stage import tag_articles
from tracker.store import Database, open_db
from tracker.store.lensfacets import refresh_lens_facets

STORIES = {  # id -> (first_seen, titles of its articles)
    1: ("2022-05-23T00:00:00Z", ["The ICO fined Clearview AI £7.5m under the GDPR",
                                 "UK watchdog ICO fines Clearview over facial recognition"]),
    2: ("2021-03-01T00:00:00Z", ["Italy's Garante fined Clearview AI under the GDPR"]),
    3: ("2020-01-10T00:00:00Z", ["Meta settled the Illinois biometric privacy law suit"]),
}


def _story_db(path: Path, taxonomy: Path) -> Database:
    db = open_db(path)
    for story, (when, titles) in STORIES.items():
        db.conn.execute("INSERT INTO clusters (id, headline, first_seen, last_seen, n_articles, n_publishers, "
                        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                        [story, titles[0], when, when, len(titles), when, when])
        for n, title in enumerate(titles):
            article = add_article(db, f"https://a.example/{story}/{n}", title, published=when)
            db.conn.execute("UPDATE articles SET cluster_id = ?, publisher = ? WHERE id = ?",
                            [story, f"Outlet {n}", article])
    tag_articles(db, taxonomy)  # ends with refresh_lens_facets
    return db


def _links(db: Database, tag: str) -> list[tuple[Any, ...]]:
    return stored(db, "SELECT story_id, articles FROM story_tag_links WHERE tag = ? ORDER BY story_id", tag)


def test_tag_stage_stores_each_storys_tags_and_a_refresh_follows_moves_and_merges(
        tmp_path: Path, taxonomy_dir: Path) -> None:  # noqa: F811
    db = _story_db(tmp_path / "lens.db", taxonomy_dir)
    assert _links(db, "clearview-ai") == [(1, 2), (2, 1)]
    assert _links(db, "gdpr") == [(1, 1), (2, 1)]
    row = stored(db, "SELECT regulators, laws, companies, relevance >= 0.9 FROM story_lens WHERE id = 2")[0]
    assert row == ('["Garante per la protezione dei dati personali (Italy)"]',
                   '["General Data Protection Regulation (GDPR)"]', '["Clearview AI"]', 1)
    assert stored(db, "SELECT stories, articles FROM lens_tags WHERE tag = 'clearview-ai'") == [(2, 3)]
    # as if refreshed in 2099; then clustering moves story 2's article into story 1 and merges 2 away
    db.conn.execute("UPDATE lens SET value = '2099-01-01T00:00:00Z' WHERE key = 'facets_at'")
    db.conn.execute("UPDATE articles SET cluster_id = 1, clustered_at = '2100-01-01T00:00:00Z' WHERE cluster_id = 2")
    db.conn.execute("UPDATE clusters SET merged_into = 1, updated_at = '2100-01-01T00:00:00Z' WHERE id = 2")
    assert refresh_lens_facets(db) == 2  # only the stories touched: 1 and 2, not 3
    assert _links(db, "clearview-ai") == [(1, 3)]
    assert _links(db, "garante") == [(1, 1)]
    assert stored(db, "SELECT id FROM story_lens ORDER BY id") == [(1,), (3,)]
    assert stored(db, "SELECT stories, articles FROM lens_tags WHERE tag = 'clearview-ai'") == [(1, 3)]
    db.conn.execute("UPDATE lens SET value = '2101-01-01T00:00:00Z' WHERE key = 'facets_at'")
    assert refresh_lens_facets(db) == 0  # nothing changed since


def test_a_database_from_before_the_stored_lens_is_summarised_when_served(
        tmp_path: Path, taxonomy_dir: Path) -> None:  # noqa: F811
    db_path = tmp_path / "old.db"
    db = _story_db(db_path, taxonomy_dir)
    db.conn.execute("DELETE FROM story_lens")
    db.conn.execute("DELETE FROM lens WHERE key = 'facets_at'")
    db.close()
    with serving(db_path, tmp_path / "serve.log") as base:
        assert [r["id"] for r in get_json(base, "/old/story_lens.json", _shape="array", _sort="id")] == [1, 2, 3]


def test_lens_filters_combine_and_tag_facets_count_the_filtered_stories_by_name(
        tmp_path: Path, taxonomy_dir: Path) -> None:  # noqa: F811
    db_path = tmp_path / "lens.db"
    _story_db(db_path, taxonomy_dir).close()

    def ids(table: str = "story_lens", **params: str) -> list[int]:
        return sorted(r["id"] for r in get_json(base, f"/lens/{table}.json", _shape="array", **params))

    with serving(db_path, tmp_path / "serve.log") as base:
        assert ids(_company="clearview-ai") == [1, 2]
        assert ids(_company="Clearview AI", _regulator="ico") == [1]  # a label or an id, all must hold
        assert ids(_law="gdpr", _since="2021-01-01", _until="2021-12-31") == [2]
        assert ids(_min_relevance="0.5", _outlet="Outlet 1") == [1]
        assert ids(_law="no-such-law") == []
        assert ids("article_lens", _company="clearview-ai", _regulator="garante") == [3]
        page = get_json(base, "/lens/story_lens.json", _facet_tag="company", _law="gdpr")
        company = page["facet_results"]["company"]["results"]
        assert [(f["label"], f["count"]) for f in company] == [("Clearview AI", 2)]
        assert "_company=clearview-ai" in company[0]["toggle_url"] and "_law=gdpr" in company[0]["toggle_url"]
        unfiltered = get_json(base, "/lens/article_lens.json", _facet_tag="regulator")
        assert {(f["value"], f["count"]) for f in unfiltered["facet_results"]["regulator"]["results"]} == \
            {("ico", 2), ("garante", 1)}
        status, html = get(base, "/lens/story_lens", _law="gdpr", _regulator="ico")
        assert status == 200 and "law: General Data Protection Regulation (GDPR)" in html
        assert "These facets timed out" not in html
        assert ids(_q="facial recognition") == [1] and ids(_q="BIPA") == [3]  # words, or a taxonomy name
        assert ids("article_lens", _q="Clearview", _regulator="garante") == [3]
        status, html = get(base, "/lens/story_lens", _law="gdpr", _q="Clearview")
        bar = html.split('class="tracker-filters"')[1].split("</form>")[0]
        assert '<option value="gdpr" selected>General Data Protection Regulation (GDPR) (2)</option>' in bar
        assert '<option value="bipa">Biometric Information Privacy Act (Illinois) (1)</option>' in bar
        assert 'name="_q" value="Clearview"' in bar
        status, body = get(base, "/lens/story_lens", _since="last week")
        assert status == 400 and "_since=&#39;last week&#39;: expected a date YYYY-MM-DD" in body


def test_search_finds_articles_by_a_taxonomy_name_ranks_the_beat_first_and_says_what_it_left_out(
        tmp_path: Path, taxonomy_dir: Path) -> None:  # noqa: F811
    db_path = tmp_path / "lens.db"
    db = _story_db(db_path, taxonomy_dir)
    # off the beat: the words match, nothing of the lens does (relevance ~0)
    add_article(db, "https://b.example/report", "Clearview market research report on facial recognition",
                published="2022-05-24T00:00:00Z")
    tag_articles(db, taxonomy_dir)
    db.close()

    def search(page: str = "search", **params: str) -> list[dict[str, Any]]:
        return list(get_json(base, f"/lens/{page}.json", _shape="array", **params))

    with serving(db_path, tmp_path / "serve.log") as base:
        # no article says "BIPA": the lens tagged story 3's article from "Illinois biometric privacy law"
        assert [r["story_id"] for r in search(q="BIPA")] == [3]
        by_name = search("search_stories", q="Biometric Information Privacy Act (Illinois)")
        assert [r["story_id"] for r in by_name] == [3]
        hits = search(q="Clearview")
        assert len(hits) == 4 and hits[-1]["url"] == "https://b.example/report"  # the beat ranks first
        assert [r["story_id"] for r in search(q="title:ICO")] == [1, 1]
        assert {r["story_id"] for r in search(q="Clearview -Garante")} == {1, None}
        assert search(q="NOT GDPR") == []  # not every article, not the GDPR ones
        status, html = get(base, "/lens/search", q="NOT GDPR")
        assert status == 200 and "Left out NOT &#34;GDPR&#34;" in html and "not supported" in html


def test_pages_show_names_amounts_and_linked_headlines_and_name_downloads_after_the_story(
        tmp_path: Path, taxonomy_dir: Path) -> None:  # noqa: F811
    db_path = tmp_path / "lens.db"
    _story_db(db_path, taxonomy_dir).close()
    with serving(db_path, tmp_path / "serve.log") as base:
        status, fines = get(base, "/lens/fines")
        body = fines.split("<tbody>")[1]
        assert status == 200 and '<span title="ico">Information Commissioner&#39;s Office (UK)</span>' in body
        assert '<span title="clearview-ai">Clearview AI</span>' in body and "7,500,000 GBP" in body
        assert ">ico<" not in body and "7500000" not in body
        status, lens = get(base, "/lens/story_lens")
        assert '<a href="/lens/story?id=1">The ICO fined Clearview AI £7.5m under the GDPR</a>' in lens
        assert "[]" not in lens.split("<tbody>")[1]  # story 2 names no technology: an empty cell
        status, tags = get(base, "/lens/story_tags")
        assert '<a href="/lens/story?id=2">Italy&#39;s Garante fined Clearview AI under the GDPR</a>' in tags
        status, new = get(base, "/lens/new_stories")
        assert status == 200 and "<h3>Showing 3 rows" in new and "Custom SQL query" not in new
        assert '<a href="/lens/story?id=3">Meta settled the Illinois biometric privacy law suit</a>' in new
        with urllib.request.urlopen(f"{base}/lens/story.csv?id=1&_dl=1", timeout=30) as response:
            disposition = response.headers["content-disposition"]
        assert disposition == 'attachment; filename="story-1-the-ico-fined-clearview-ai-7-5m-under-the-gdpr.csv"'


def test_attention_page_counts_searches_per_week_side_by_side_with_chart_outlets_and_csv(
        tmp_path: Path, taxonomy_dir: Path) -> None:  # noqa: F811
    db_path = tmp_path / "lens.db"
    _story_db(db_path, taxonomy_dir).close()
    with serving(db_path, tmp_path / "serve.log") as base:
        rows = get_json(base, "/lens/attention.json", _shape="array", q1="Clearview", q2="GDPR", q3="")
        assert [(r["week"], r["search"], r["articles"], r["stories"]) for r in rows] == [
            ("2021-03-01", "Clearview", 1, 1), ("2021-03-01", "GDPR", 1, 1),
            ("2022-05-23", "Clearview", 2, 1), ("2022-05-23", "GDPR", 1, 1)]
        assert [r["share_of_beat_pct"] for r in rows] == [100.0, 100.0, 100.0, 50.0]
        status, html = get(base, "/lens/attention", q1="Clearview", q2="GDPR")
        assert status == 200 and html.count("<polyline") == 4  # two searches, articles and stories
        assert "<title>Clearview</title>" in html and "Custom SQL query" not in html
        outlets = html.split("Top outlets")[1]
        assert "stories_by_publisher?publisher=Outlet%200\">Outlet 0</a> (2)" in outlets
        status, csv = get(base, "/lens/attention.csv", q1="Clearview", q2="", q3="")
        assert status == 200 and csv.splitlines()[0].startswith("week,search,articles,stories")
        assert len(csv.splitlines()) == 3


def test_screenshots_of_the_lens_with_its_filter_bar_and_of_the_attention_page(
        tmp_path: Path, taxonomy_dir: Path) -> None:  # noqa: F811
    from tests.test_serve import _shoot

    db_path = tmp_path / "lens.db"
    _story_db(db_path, taxonomy_dir).close()
    with serving(db_path, tmp_path / "serve.log") as base:
        dom = _shoot(base, "/lens/story_lens?_law=gdpr&_facet_tag=company", "story_lens")
        assert 'class="tracker-filters"' in dom and "law: General Data Protection Regulation (GDPR)" in dom
        assert ">Clearview AI</a>" in dom and "These facets timed out" not in dom
        dom = _shoot(base, "/lens/attention?q1=Clearview&q2=GDPR", "attention")
        assert dom.count("<polyline") == 4 and "Top outlets" in dom
        dom = _shoot(base, "/lens/search?q=BIPA", "search_bipa")
        assert "Meta settled the Illinois biometric privacy law suit" in dom and "Page 1: articles 1 to 1" in dom
