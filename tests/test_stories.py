"""Story clustering against a real SQLite file: seeds, imports, reruns, corrections, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker.cli import main
from tracker.config import PROJECT_ROOT
from tracker.store import Database, ensure_schema, open_db
from tracker.seeds.importer import import_jsonl
from tracker.stories.cluster import ClusterOptions
from tracker.stories.cluster_stage import cluster_articles

GIVEN = PROJECT_ROOT.parent / "shared" / "seeds" / "given"
WIRE = ("The data protection authority fined the retailer four million euros on Tuesday for running "
        "facial recognition cameras in forty shops without telling customers, the regulator said. "
        "The company said it would appeal the decision and had already switched the cameras off.")


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "tracker.db"


def run(args: list[str]) -> str:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def add(db: Database, tmp_path: Path, records: list[dict[str, Any]], name: str = "a.jsonl") -> None:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    summary = import_jsonl(db, [path])
    assert not summary.errors


def art(slug: str, title: str, day: int, hour: int = 12, publisher: str = "Pub", **more: Any) -> dict:
    return {"url": f"https://{publisher.lower().replace(' ', '')}.example/{slug}", "title": title,
            "published": f"2024-03-{day:02d}T{hour:02d}:00:00Z", "publisher": publisher, **more}


def partition(db: Database) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for url, cid in db.conn.execute("SELECT url, cluster_id FROM articles"):
        assert cid is not None, url
        groups.setdefault(cid, set()).add(url)
    return {frozenset(g) for g in groups.values()}


def ids_by_url(db: Database) -> dict[str, int]:
    return dict(db.conn.execute("SELECT url, cluster_id FROM articles"))


STORY_A = [art("a1", "Regulator fines Acme over facial recognition cameras", 4, 9, "Daily"),
           art("a2", "Acme fined for facial recognition in shops", 4, 11, "Herald"),
           art("a3", "Acme to appeal facial recognition fine from regulator", 5, 8, "Post")]
STORY_B = [art("b1", "Clearview AI ordered to delete photos of Italians", 4, 10, "Daily"),
           art("b2", "Italy orders Clearview AI to delete biometric data", 4, 15, "Wire"),
           art("b3", "Clearview AI must delete Italian faces, watchdog says", 6, 7, "Post")]
STORY_C = [art("c1", "Senate passes children's online privacy bill", 5, 13, "Herald"),
           art("c2", "Children's online privacy bill clears Senate", 5, 18, "Daily")]


def test_given_seed_gives_three_stories(db_file: Path) -> None:
    if not GIVEN.is_dir():
        pytest.skip("../shared/seeds/given is missing")
    run(["seeds", "load", str(GIVEN), "--db", str(db_file)])
    assert "3 stories" in run(["cluster", "--db", str(db_file)])
    db = open_db(db_file)
    hosts = {frozenset(u.split("/")[2].removeprefix("www.") for u in g) for g in partition(db)}
    assert hosts == {frozenset({"scmp.com"}), frozenset({"rollcall.com", "securityinfowatch.com"}),
                     frozenset({"thenextweb.com", "infosecurity-magazine.com", "thegrocer.co.uk",
                                "computing.co.uk"})}
    row = db.conn.execute("SELECT n_articles, n_publishers, publishers, first_seen, last_seen "
                          "FROM clusters WHERE n_articles = 4").fetchone()
    assert row[:2] == (4, 4)
    assert json.loads(row[2]) == ["Computing", "Infosecurity Magazine", "The Grocer", "The Next Web"]
    assert (row[3], row[4]) == ("2020-12-11T08:08:00Z", "2020-12-11T17:33:00Z")


def test_syndicated_copies_are_duplicates_of_the_earliest(tmp_path: Path, db_file: Path) -> None:
    db = open_db(db_file)
    copies = [art(f"w{i}", "Retailer fined over facial recognition cameras" + (" - Wire" if i else ""),
                  4, 8 + i, f"Outlet{i}", text=WIRE + (" Reporting by staff." if i == 2 else ""))
              for i in range(3)]
    add(db, tmp_path, copies + STORY_B)
    cluster_articles(db)
    rows = db.conn.execute("SELECT url, duplicate_of, duplicate_similarity FROM articles "
                           "WHERE publisher LIKE 'Outlet%' ORDER BY url").fetchall()
    first = db.conn.execute("SELECT id FROM articles WHERE url LIKE '%/w0'").fetchone()[0]
    assert rows[0][1] is None
    assert [r[1] for r in rows[1:]] == [first, first]
    assert all(r[2] >= 0.9 for r in rows[1:])
    assert db.conn.execute("SELECT COUNT(*) FROM articles WHERE url LIKE '%/b%' "
                           "AND duplicate_of IS NOT NULL").fetchone()[0] == 0


def test_ids_are_stable_and_incremental_equals_full(tmp_path: Path, db_file: Path) -> None:
    db = open_db(db_file)
    add(db, tmp_path, [STORY_A[0], STORY_B[0], STORY_C[0]], "1.jsonl")
    cluster_articles(db)
    before = ids_by_url(db)
    # later articles, and one that arrives late (published before everything clustered so far)
    late = art("a0", "Acme facial recognition cameras face regulator fine", 3, 20, "Early")
    add(db, tmp_path, STORY_A[1:] + STORY_B[1:] + STORY_C[1:] + [late], "2.jsonl")
    cluster_articles(db)
    after = ids_by_url(db)
    assert all(after[url] == cid for url, cid in before.items())
    assert cluster_articles(db).replayed == 0  # nothing new: nothing to do
    incremental = partition(db)
    assert len(incremental) == 3
    full = open_db(tmp_path / "full.db")
    add(full, tmp_path, STORY_A + STORY_B + STORY_C + [late], "all.jsonl")
    cluster_articles(full)
    assert partition(full) == incremental
    cluster_articles(db, rebuild=True)
    assert ids_by_url(db) == after


def test_corrections_survive_reruns(tmp_path: Path, db_file: Path) -> None:
    db = open_db(db_file)
    add(db, tmp_path, STORY_A + STORY_B)
    cluster_articles(db)
    ids = ids_by_url(db)
    a_id, b_id = ids[STORY_A[0]["url"]], ids[STORY_B[0]["url"]]
    split_id = db.conn.execute("SELECT id FROM articles WHERE url = ?", [STORY_A[1]["url"]]).fetchone()[0]
    run(["cluster", "--db", str(db_file), "--split", str(split_id)])
    run(["cluster", "--db", str(db_file), "--merge", str(b_id), str(a_id)])
    add(db, tmp_path, [art("a4", "Acme facial recognition fine: what shops must know", 6, 9, "Blog")], "more.jsonl")
    for rebuild in (False, True):
        cluster_articles(db, rebuild=rebuild)
        ids = ids_by_url(db)
        split_cluster = ids[STORY_A[1]["url"]]
        assert sum(1 for c in ids.values() if c == split_cluster) == 1
        merged = {ids[r["url"]] for r in STORY_A + STORY_B if r is not STORY_A[1]}
        assert merged == {min(a_id, b_id)}
        assert ids["https://blog.example/a4"] == min(a_id, b_id)
    merges = db.conn.execute("SELECT kept_id, merged_id FROM cluster_merges").fetchall()
    assert (min(a_id, b_id), max(a_id, b_id)) in merges
    assert db.conn.execute("SELECT merged_into FROM clusters WHERE id = ?",
                           [max(a_id, b_id)]).fetchone()[0] == min(a_id, b_id)
    stories = run(["export", "stories", "--db", str(db_file)]).splitlines()
    assert len(stories) == 1 + 2  # header, the merged story, the split-off article


def test_empty_database_and_single_article(tmp_path: Path, db_file: Path) -> None:
    db = open_db(db_file)
    assert "0 articles" in run(["cluster", "--db", str(db_file)])
    add(db, tmp_path, [{"url": "https://x.example/only"}])  # no title, no date
    summary = cluster_articles(db)
    assert (summary.clusters, summary.new_clusters) == (1, 1)
    assert db.conn.execute("SELECT n_articles, n_publishers FROM clusters").fetchone() == (1, 0)
    lines = run(["export", "clusters", "--db", str(db_file)]).splitlines()
    assert len(lines) == 2 and "https://x.example/only" in lines[1]


def test_other_scripts_do_not_crash_or_merge_with_english(tmp_path: Path, db_file: Path) -> None:
    db = open_db(db_file)
    foreign = [art("zh", "Clearview AI 被意大利要求删除照片", 4, 11, "Xinhua"),
               art("ru", "Clearview AI обязали удалить фотографии итальянцев", 4, 12, "Tass"),
               art("ar", "إيطاليا تأمر Clearview AI بحذف الصور", 4, 13, "Jazeera"),
               art("ja", "イタリア、Clearview AIに写真削除を命令", 4, 14, "Nikkei"),
               art("emoji", "🔥🔥🔥", 4, 14, "Emoji")]
    add(db, tmp_path, STORY_B + foreign)
    cluster_articles(db)
    ids = ids_by_url(db)
    english = {ids[r["url"]] for r in STORY_B}
    assert len(english) == 1
    assert all(ids[r["url"]] not in english for r in foreign)


def test_fragments_that_grow_together_keep_the_older_id(tmp_path: Path, db_file: Path) -> None:
    fragments = [art("m1", "Acme cameras fined by regulator", 4, 9, "Daily"),
                 art("m2", "Zeta shop chain apologises to customers", 4, 10, "Herald")]
    bridge = [art("m3", "Acme cameras fined: Zeta shop chain apologises to customers", 4, 11, "Post"),
              art("m4", "Zeta shop chain apologises", 4, 12, "Wire")]
    db = open_db(db_file)
    add(db, tmp_path, fragments, "1.jsonl")
    cluster_articles(db)
    before = ids_by_url(db)
    older, younger = before[fragments[0]["url"]], before[fragments[1]["url"]]
    assert older < younger
    add(db, tmp_path, bridge, "2.jsonl")
    summary = cluster_articles(db)
    assert summary.merged == 1
    assert set(ids_by_url(db).values()) == {older}
    assert db.conn.execute("SELECT kept_id, merged_id, reason FROM cluster_merges").fetchall() == \
        [(older, younger, "grew together")]
    assert db.conn.execute("SELECT COUNT(*) FROM story_links").fetchone()[0] == 1
    stories = run(["export", "stories", "--db", str(db_file)]).splitlines()
    assert len(stories) == 2 and ",4," in stories[1]  # one story of four articles
    full = open_db(tmp_path / "full.db")
    add(full, tmp_path, fragments + bridge, "all.jsonl")
    cluster_articles(full)
    assert partition(full) == partition(db)
    for rebuild in (False, True):  # reruns change nothing
        cluster_articles(db, rebuild=rebuild)
        assert set(ids_by_url(db).values()) == {older}
        assert db.conn.execute("SELECT COUNT(*) FROM story_links").fetchone()[0] == 1


def test_changed_options_recluster_everything_once(tmp_path: Path, db_file: Path) -> None:
    db = open_db(db_file)
    add(db, tmp_path, STORY_A + STORY_B)
    assert cluster_articles(db).replayed == 6
    assert cluster_articles(db).replayed == 0
    stricter = ClusterOptions(threshold=0.9)
    assert cluster_articles(db, options=stricter).replayed == 6  # stale assignments are not warmed
    assert cluster_articles(db, options=stricter).replayed == 0
    assert len(set(ids_by_url(db).values())) == 6  # nothing is that alike


def test_a_rerun_that_undoes_a_merge_forgets_its_link(tmp_path: Path, db_file: Path) -> None:
    db = open_db(db_file)
    add(db, tmp_path, [art("m1", "Acme cameras fined by regulator", 4, 9, "Daily"),
                       art("m2", "Zeta shop chain apologises to customers for cameras", 4, 10, "Herald"),
                       art("m3", "Acme cameras fined: Zeta shop chain apologises to customers", 4, 11, "Post")])
    cluster_articles(db)
    assert db.conn.execute("SELECT COUNT(*) FROM story_links").fetchone()[0] == 1
    loose = ClusterOptions(threshold=0.01, merge_threshold=0.01)  # m2 joins m1 at once: no link,
    # and m2, which the dropped link named, leads nothing any more
    cluster_articles(db, options=loose)
    assert db.conn.execute("SELECT COUNT(*) FROM story_links").fetchone()[0] == 0
    assert len(set(ids_by_url(db).values())) == 1
    cluster_articles(db)  # and back
    assert db.conn.execute("SELECT COUNT(*) FROM story_links").fetchone()[0] == 1
    assert len(set(ids_by_url(db).values())) == 1


def test_lens_tags_split_stories_and_retagged_articles_are_reclustered(tmp_path: Path, db_file: Path) -> None:
    db = open_db(db_file)
    body = "Clearview AI, the facial recognition company, must pay over its database of scraped photos."
    add(db, tmp_path, [art("uk", "Clearview AI must pay over scraped photos database", 4, 9, "Daily", text=body),
                       art("us", "Clearview AI must pay over scraped photos, court says", 4, 11, "Herald", text=body)])
    db["article_tags"].drop()  # a database from before the lens (issue 12): no tags at all
    cluster_articles(db)
    assert len(set(ids_by_url(db).values())) == 1
    ensure_schema(db)  # the lens's contract: article_tags and articles.tagged_at
    ids = {url.rsplit("/", 1)[1]: i for i, url in db.conn.execute("SELECT id, url FROM articles")}
    tags = {"uk": [("company", "clearview-ai"), ("jurisdiction", "uk")],
            "us": [("company", "clearview-ai"), ("jurisdiction", "us-il")]}
    db["article_tags"].insert_all({"article_id": ids[slug], "kind": kind, "tag": tag, "label": tag, "mentions": 1}
                                  for slug, pairs in tags.items() for kind, tag in pairs)
    assert cluster_articles(db).replayed == 0  # tags written but not yet marked as changed
    db.conn.execute("UPDATE articles SET tagged_at = '2999-01-01T00:00:00Z'")
    assert cluster_articles(db).replayed == 2
    assert len(set(ids_by_url(db).values())) == 2
