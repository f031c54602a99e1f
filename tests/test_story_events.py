"""Evidence of one event from the lens's tags, and stories that change their mind (joins and splits),
in memory and through the database with analysts' corrections. Every headline here is invented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tracker.cli import main
from tracker.job import RunSummary, _cluster, start_run
from tracker.seeds.importer import import_jsonl
from tracker.store import Database, open_db
from tracker.stories.cluster import ClusterOptions, Clusterer, Item, cluster_items
from tracker.stories.cluster_stage import cluster_articles
from tracker.stories.evidence import Evidence, item_tags, same_event, supports_join, supports_merge

H = 3600.0
OPTIONS = ClusterOptions()


def story(*articles: set[str]) -> Evidence:
    """A story's evidence from its articles' tags (no marks: the tags are what is tested)."""
    evidence = Evidence()
    for n, tags in enumerate(articles):
        evidence.add((), tags, f"Outlet {n}")
    return evidence


ROLLOUT = [{"company:vandor-police", "action:deployment", "jurisdiction:gb"}] * 3


def test_same_target_and_action_is_one_event_and_another_stage_or_authority_is_not() -> None:
    rollout = story(*ROLLOUT)
    assert same_event(item_tags({"company:vandor-police", "action:deployment"}), rollout, OPTIONS)
    # a report that names no action says less, not something else
    assert same_event(item_tags({"company:vandor-police", "jurisdiction:gb"}), rollout, OPTIONS)
    # nothing in common: no evidence either way
    assert not same_event(item_tags({"jurisdiction:gb"}), rollout, OPTIONS)
    # another stage of the story: a ban after the deployment
    assert not same_event(item_tags({"company:vandor-police", "action:ban"}), rollout, OPTIONS)
    # another authority, another law
    fined = story(*[{"company:acme", "action:fine", "regulator:ico"}] * 2)
    assert same_event(item_tags({"company:acme", "action:fine", "regulator:ico"}), fined, OPTIONS)
    assert not same_event(item_tags({"company:acme", "action:fine", "regulator:cnil"}), fined, OPTIONS)
    sued = story(*[{"company:acme", "action:lawsuit", "law:bipa"}] * 2)
    assert not same_event(item_tags({"company:acme", "action:lawsuit", "law:ccpa"}), sued, OPTIONS)
    # a lawsuit after an expose that named no action is a new development; the reverse is a comment
    expose = story(*[{"company:acme"}] * 4)
    assert not same_event(item_tags({"company:acme", "action:lawsuit"}), expose, OPTIONS)
    assert same_event(item_tags({"company:acme"}), sued, OPTIONS)


def test_a_company_in_the_news_is_not_an_event_unless_a_theme_of_few_stories_is_shared() -> None:
    def reports(marks: set[str], n: int = 3) -> Evidence:
        evidence = Evidence()
        for k in range(n):
            evidence.add(marks, {"company:amazon"}, f"Outlet {k}")
        return evidence

    launch, deal = reports({"aws", "sagemaker", "chip"}), reports({"aws", "football", "league"}, 1)
    # the same company and no action named: only a shared theme could make it one event
    assert not same_event(reports({"football", "league"}, 1), launch, OPTIONS)
    topic = {"aws": 0.2}  # the company's name is in many open stories: a topic's mark

    def weight(mark: str) -> float:
        return topic.get(mark, 1.0)

    assert not same_event(deal, launch, OPTIONS, weight)
    follow_up = reports({"aws", "sagemaker"}, 1)  # shares the launch's own theme, in few stories
    assert same_event(follow_up, launch, OPTIONS, weight)
    assert not same_event(follow_up, launch, OPTIONS, lambda mark: 0.2)  # every mark a topic's


def test_the_lens_lets_headlines_alike_only_in_the_beats_words_join() -> None:
    rollout = story(*ROLLOUT)
    marks = frozenset({"breathtaking", "campaigner", "criticised"})  # none shared with the story

    def joins(tags: set[str], similarity: float) -> bool:
        item = Item(9, 0.0, "Vandor cops switch on real-time face scanning", publisher="Late", tags=frozenset(tags))
        return supports_join(rollout, item, marks, similarity, OPTIONS)

    same = {"company:vandor-police", "action:deployment"}
    assert joins(same, OPTIONS.event_similarity)
    assert not joins(same, OPTIONS.event_similarity - 0.01)  # and somewhat alike in words
    assert not joins(set(), OPTIONS.event_similarity)  # untagged: the marks decide, and none are shared
    assert not joins({"company:vandor-police", "action:ban"}, OPTIONS.event_similarity)
    untagged_options = ClusterOptions(use_tags=False)
    item = Item(9, 0.0, "Vandor cops switch on real-time face scanning", tags=frozenset(same))
    assert not supports_join(rollout, item, marks, 0.25, untagged_options)
    # two fragments: the same, at average linkage
    a, b = story(*ROLLOUT[:2]), story(*ROLLOUT[:2])
    assert supports_merge(a, b, OPTIONS.event_similarity, OPTIONS)
    c = story(*[{"company:vandor-police", "action:ban", "jurisdiction:gb"}] * 2)
    assert not supports_merge(a, c, OPTIONS.event_similarity, OPTIONS)


ZORBLAX = [
    ("Zorblax app matches faces against billions of scraped photos",
     "Zorblax, a little-known startup, sells police a face search tool built from photos scraped from social "
     "networks, an investigation found."),
    ("Police forces quietly use Zorblax face search built on scraped photos",
     "More than two hundred police forces have used the Zorblax tool, which matches a photo against billions "
     "of scraped images."),
    ("Inside Zorblax, the startup whose face search police use",
     "The Zorblax founder says the scraped photo database helps detectives; critics call it the end of anonymity."),
    ("What to know about Zorblax and its scraped photo database",
     "The face search tool from Zorblax is used by police forces and was built from billions of scraped photos."),
    ("Zorblax face search alarms privacy advocates",
     "Advocates say the Zorblax tool, trained on scraped photos and sold to police, should be stopped."),
]
CLASS_ACTION = [
    ("Illinois residents file class action against Zorblax",
     "The lawsuit, filed in Chicago federal court, says Zorblax broke the state biometric privacy act and asks "
     "for damages of five thousand dollars per violation for each resident."),
    ("Zorblax hit with class action in Chicago federal court",
     "Illinois residents filed a class action lawsuit in Chicago federal court accusing Zorblax of breaking the "
     "state biometric privacy act; they seek damages per violation."),
]


def zorblax_items() -> list[Item]:
    expose = [Item(n + 1, n * 3 * H, title, body, f"Outlet {n}", "en", "", frozenset({"company:zorblax"}))
              for n, (title, body) in enumerate(ZORBLAX)]
    lawsuit = [Item(20 + n, (40 + 2 * n) * H, title, body, f"Court {n}", "en", "",
                    frozenset({"company:zorblax", "action:lawsuit"})) for n, (title, body) in enumerate(CLASS_ACTION)]
    return expose + lawsuit


def test_a_second_event_taken_in_is_split_off_and_the_larger_part_keeps_the_story() -> None:
    items = zorblax_items()
    clusterer = Clusterer()
    assert {clusterer.add(item).leader for item in items} == {1}  # each joined as it came
    assert clusterer.splits == [(20, 1, items[-1].time)]  # the second filing showed the second event
    assert clusterer.moved == {20: 20, 21: 20}
    assert [a.leader for a in cluster_items(items)] == [1] * 5 + [20, 20]
    # one filing is one voice: no split; nor without the lens's tags
    assert {a.leader for a in cluster_items(items[:-1])} == {1}
    untagged = [Item(i.id, i.time, i.title, i.body, i.publisher, i.language) for i in items]
    assert {a.leader for a in cluster_items(untagged)} == {1}
    # the filings without the action's tag are the story's own reports
    plain = items[:5] + [Item(i.id, i.time, i.title, i.body, i.publisher, i.language, "",
                              frozenset({"company:zorblax"})) for i in items[5:]]
    assert {a.leader for a in cluster_items(plain)} == {1}
    # and a later article on the class action joins the part split off
    later = Item(30, 50 * H, "Zorblax class action in Chicago federal court names Illinois residents",
                 "The biometric privacy act lawsuit filed in Chicago federal court seeks damages per violation.",
                 "Court 9", "en", "", frozenset({"company:zorblax", "action:lawsuit"}))
    assert [a.leader for a in cluster_items(items + [later])][-3:] == [20, 20, 20]


# --- Through the database: recorded for "new since the last run", corrections respected ----------

def _records(items: list[Item]) -> list[dict[str, Any]]:
    return [{"url": f"https://{item.publisher.lower().replace(' ', '')}.example/z{item.id}", "title": item.title,
             "excerpt": item.body, "publisher": item.publisher,
             "published": f"2024-03-{1 + int(item.time // 86400):02d}T{int(item.time % 86400 // 3600):02d}:00:00Z"}
            for item in items]


def _add(db: Database, tmp_path: Path, items: list[Item], name: str) -> None:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in _records(items)), encoding="utf-8")
    assert not import_jsonl(db, [path]).errors
    ids = dict(db.conn.execute("SELECT url, id FROM articles"))
    tags = [{"article_id": ids[record["url"]], "kind": kind, "tag": tag, "label": tag, "mentions": 1}
            for item, record in zip(items, _records(items)) for kind, tag in
            (t.split(":", 1) for t in item.tags)]
    db["article_tags"].insert_all(tags)  # as the lens would tag them
    db.conn.execute("UPDATE articles SET tagged_at = '2999-01-01T00:00:00Z'")


def _run(db: Database) -> dict[int, str]:
    summary = RunSummary(run_id=start_run(db))
    _cluster(db, summary, None)
    return dict(db.conn.execute("SELECT story_id, change FROM run_stories WHERE run_id = ?", [summary.run_id]))


def _story_of(db: Database) -> dict[int, int]:
    """Item id (the number in its URL) -> its story."""
    return {int(url.rsplit("/z", 1)[1]): cid for url, cid in db.conn.execute("SELECT url, cluster_id FROM articles")}


def test_a_split_is_recorded_and_an_analysts_merge_undoes_it(tmp_path: Path) -> None:
    db = open_db(tmp_path / "t.db")
    items = zorblax_items()
    _add(db, tmp_path, items[:-1], "first.jsonl")
    _run(db)
    first = _story_of(db)
    assert len(set(first.values())) == 1  # the expose and the first filing: one story so far
    story = first[1]
    _add(db, tmp_path, items[-1:], "second.jsonl")
    changes = _run(db)
    after = _story_of(db)
    part = after[20]
    assert after[21] == part != story and {after[n] for n in range(1, 6)} == {story}  # the larger part kept it
    assert db.conn.execute("SELECT kept_id, split_id FROM cluster_splits").fetchall() == [(story, part)]
    assert changes == {story: "split", part: "split off"}
    # the analyst says it is one story: the merge holds over the split, on every later run
    result = CliRunner().invoke(main, ["cluster", "--db", str(tmp_path / "t.db"), "--merge", str(story), str(part)])
    assert result.exit_code == 0, result.output
    for rebuild in (False, True):
        cluster_articles(db, rebuild=rebuild)
        assert len(set(_story_of(db).values())) == 1


def test_a_join_is_recorded_and_an_analysts_split_is_kept_apart(tmp_path: Path) -> None:
    def item(n: int, title: str, hour: int, publisher: str) -> Item:
        return Item(n, hour * H, title, "", publisher)

    fragments = [item(1, "Acme cameras fined by regulator", 9, "Daily"),
                 item(2, "Zeta shop chain apologises to customers", 10, "Herald"),
                 item(3, "Zeta shop chain apologises to its customers", 10, "Courier")]
    bridge = [item(4, "Acme cameras fined: Zeta shop chain apologises to customers", 11, "Post"),
              item(5, "Zeta shop chain apologises", 12, "Wire")]
    db = open_db(tmp_path / "t.db")
    _add(db, tmp_path, fragments, "first.jsonl")
    _run(db)
    before = _story_of(db)
    older, younger = before[1], before[2]
    assert older != younger == before[3]
    third = db.conn.execute("SELECT id FROM articles WHERE url LIKE '%/z3'").fetchone()[0]
    result = CliRunner().invoke(main, ["cluster", "--db", str(tmp_path / "t.db"), "--split", str(third)])
    assert result.exit_code == 0, result.output
    _add(db, tmp_path, bridge, "second.jsonl")
    changes = _run(db)
    after = _story_of(db)
    alone = after.pop(3)
    assert alone not in after.values()  # the analyst's split stands, through the join
    assert set(after.values()) == {older}  # the fragments joined: the older story kept its id
    assert db.conn.execute("SELECT kept_id, merged_id FROM cluster_merges").fetchall() == [(older, younger)]
    assert changes[older] == "joined"
