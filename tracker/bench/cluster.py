"""`tracker bench cluster`: clustering quality against human story labels, and speed at scale.

In-domain quality: the seed-stories labels (`../shared/corpora/seed-stories/`): every shared seed
(`../shared/seeds`) is loaded into a scratch database, tagged by the privacy lens with the shipped
taxonomy (`tracker run` tags before it clusters, and clustering keeps apart sides whose companies,
regulators, actions or jurisdictions differ, so the bench does too), and clustered from its metadata
(title, excerpt, URL slug; no crawl); the 468 labelled articles are scored, with the tags and,
for comparison, without them. The 20 largest stories of the whole set (with tags) are printed with
three titles each: a topic blob shows at a glance.

On the tracker's own beat: the beat-stories labels (`../shared/corpora/beat-stories/`, 461 of the
same seeds' articles about privacy, surveillance and regulation, grouped by event), scored on the
same clustering, with the 10 labelled stories spread over most stories found and the 10 stories
found that mix most labels, with titles: where recall and precision are lost.

Quality on general news: the UCI News Aggregator sample (`../shared/corpora/uci-news-sample/`), shuffled with a fixed
seed and cut in two: the defaults of `ClusterOptions` were chosen on the *tune* half, the *held-out*
half is reported beside it. Titles, publishers and URLs only, like imported headlines.

The sample's TIMESTAMP is not a publication time: it is when the aggregator stored each story's
batch, so every story sits alone in a burst of a few seconds and a time gap of one minute would
separate the 87 stories perfectly. That would measure the data set, not the clustering: each row gets
a random time (fixed seed) within the sample's 36 hours instead, which also breaks the grouping of
rows by story (an online clusterer fed stories one after another has an easy job; docs/benchmarks.md
says what the sample's own times would score).

Scale: N synthetic articles made by perturbing the sample's headlines (dropped, swapped and
misspelt words, plus a code word per synthetic story so that copies of one UCI story are different
stories), spread over a year; prints seconds, items per second and peak memory (max RSS), then the
clustering side of an incremental run: the last 1,000 articles arrive new, the state before them
is rebuilt from the look-back window's stored assignments, and they are clustered from there.
"""

from __future__ import annotations

import csv
import random
import resource
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from tracker.stories.cluster import (DAY, ClusterOptions, Clusterer, Item, cluster_items, lookback_seconds,
                                     merge_roots)
from tracker.config import PROJECT_ROOT
from tracker.errors import TrackerError

SHARED = PROJECT_ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
SEED_LABELS = SHARED / "corpora" / "seed-stories" / "labels.csv"
BEAT_LABELS = SHARED / "corpora" / "beat-stories" / "labels.csv"

UCI_CSV = SHARED / "corpora" / "uci-news-sample" / "uci-news-aggregator.first6367.csv"
SPLIT_SEED = 20140310
UCI_START = 1394470370.0  # 2014-03-10T16:52:50Z, the sample's first timestamp


@dataclass(frozen=True)
class Scores:
    """B-cubed and pairwise precision, recall and F1 of a clustering against labels."""

    n: int
    clusters: int
    labels: int
    bcubed_p: float
    bcubed_r: float
    bcubed_f1: float
    pair_p: float
    pair_r: float
    pair_f1: float


def load_uci(path: Path = UCI_CSV) -> list[tuple[Item, str]]:
    """The sample's rows as (Item, story label); the cut-off last row is skipped."""
    if not path.exists():
        raise TrackerError(f"{path}: UCI sample not found")
    rows: list[tuple[Item, str]] = []
    rng = random.Random(SPLIT_SEED)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row.get("TIMESTAMP") or not row.get("STORY"):
                continue
            item = Item(id=int(row["ID"]), time=UCI_START + rng.uniform(0, 36 * 3600),
                        title=row["TITLE"] or "", publisher=row["PUBLISHER"] or "", url=row["URL"] or "")
            rows.append((item, row["STORY"]))
    return rows


def split(rows: Sequence[tuple[Item, str]], seed: int = SPLIT_SEED) -> tuple[list, list]:
    """Shuffle with a fixed seed and cut in halves: (tune, held_out)."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    half = len(shuffled) // 2
    return shuffled[:half], shuffled[half:]


def score(predicted: Mapping[int, int], truth: Mapping[int, str]) -> Scores:
    """B-cubed (per item, averaged) and pairwise (over all same-cluster pairs) P/R/F1."""
    pred_groups: dict[int, list[int]] = defaultdict(list)
    for item, cluster in predicted.items():
        pred_groups[cluster].append(item)
    both = Counter((predicted[i], truth[i]) for i in predicted)
    pred_size = {c: len(m) for c, m in pred_groups.items()}
    true_size = Counter(truth[i] for i in predicted)
    n = len(predicted)
    bp = sum(k * k / pred_size[c] for (c, _), k in both.items()) / n if n else 1.0
    br = sum(k * k / true_size[t] for (_, t), k in both.items()) / n if n else 1.0
    tp = sum(k * (k - 1) / 2 for k in both.values())
    pp = sum(k * (k - 1) / 2 for k in pred_size.values())
    tt = sum(k * (k - 1) / 2 for k in true_size.values())
    p, r = (tp / pp if pp else 1.0), (tp / tt if tt else 1.0)
    return Scores(n, len(pred_groups), len(true_size), bp, br, _f1(bp, br), p, r, _f1(p, r))


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(rows: Sequence[tuple[Item, str]], options: ClusterOptions | None = None) -> Scores:
    """Cluster the rows' items and score them against the rows' labels."""
    truth = {item.id: label for item, label in rows}
    predicted = {a.item_id: a.leader for a in cluster_items([i for i, _ in rows], options)}
    return score(predicted, truth)


def quality_report(options: ClusterOptions | None = None) -> dict[str, Scores]:
    """Scores on the tune half, the held-out half and the whole sample."""
    rows = load_uci()
    tune, held_out = split(rows)
    return {"tune": evaluate(tune, options), "held-out": evaluate(held_out, options),
            "all": evaluate(rows, options)}


# --- Seed stories and beat stories ----------------------------------------------------------------

@dataclass(frozen=True)
class LabelledSet:
    """One label set's figures on the shared seeds, and where its stories went wrong."""

    name: str
    scores: Scores  # clustered with the lens's tags, as `tracker run` clusters
    untagged: Scores  # the same articles clustered without them (`use_tags` off)
    split: list[tuple[str, int, int, list[str]]]  # (label, articles, stories found, titles)
    mixed: list[tuple[int, int, list[str], list[str]]]  # (articles, labels, labels, titles)


@dataclass(frozen=True)
class SeedStories:
    """The figures of every label set on the shared seeds and the largest stories found there."""

    sets: list[LabelledSet]
    articles: int
    largest: list[tuple[int, int, list[str]]]  # (articles, publishers, first three titles)

    @property
    def scores(self) -> Scores:
        """The seed-stories figures (with tags)."""
        return self.sets[0].scores

    @property
    def untagged(self) -> Scores:
        """The seed-stories figures without tags."""
        return self.sets[0].untagged


def load_seed_set(seeds: Path = SEEDS, labels: Sequence[Path] = (SEED_LABELS,)
                  ) -> tuple[list[Item], list[dict[int, str]]]:
    """All shared seeds as Items (through a scratch database, as `tracker seeds load` stores them,
    tagged as `tracker run` tags them before clustering), and for each label file the story label
    of each labelled article, matched by URL as `tracker` matches aliases."""
    from tracker.store import open_db
    from tracker.store.articles import find_article_ids
    from tracker.lens.tag_stage import tag_articles
    from tracker.seeds.files import load_seeds
    from tracker.stories.cluster_stage import load_items
    from tracker.urls import make_alias

    missing = [str(path) for path in (seeds, *labels) if not path.exists()]
    if missing:
        raise TrackerError(f"{missing[0]}: story labels or shared seeds not found")
    db = open_db(":memory:")
    load_seeds(db, [str(seeds)])
    tag_articles(db)  # the shipped taxonomy, as in `tracker run`
    truths: list[dict[int, str]] = []
    for path in labels:
        truth: dict[int, str] = {}
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                found = find_article_ids(db, [make_alias(row["url"])])
                if len(found) != 1:
                    raise TrackerError(f"{path}: {row['url']} matches {len(found)} seed articles")
                truth[found.pop()] = row["label"]
        truths.append(truth)
    return load_items(db), truths


def seed_stories_report(options: ClusterOptions | None = None, top: int = 20, worst: int = 10) -> SeedStories:
    """Cluster every shared seed, score the seed-stories and beat-stories labels (with the lens's
    tags and without), list the `worst` most split and most mixed labelled stories, and the `top`
    largest stories found with the tags."""
    label_sets = [("seed-stories", SEED_LABELS), ("beat-stories", BEAT_LABELS)]
    items, truths = load_seed_set(labels=[path for _, path in label_sets])
    options = options or ClusterOptions()
    untagged = {a.item_id: a.leader for a in cluster_items(items, replace(options, use_tags=False))}
    leaders = {a.item_id: a.leader for a in cluster_items(items, options)}
    by_id = {item.id: item for item in items}
    groups: dict[int, list[Item]] = defaultdict(list)
    for item_id, leader in leaders.items():
        groups[leader].append(by_id[item_id])
    largest = sorted(groups.values(), key=lambda g: (-len(g), min(i.id for i in g)))[:top]
    listed = [(len(g), len({i.publisher for i in g if i.publisher}),
               [i.title for i in sorted(g, key=lambda i: (i.time, i.id))[:3]]) for g in largest]
    sets = []
    for (name, _), truth in zip(label_sets, truths):
        found = {i: leaders[i] for i in truth}
        split_, mixed = worst_stories(found, truth, by_id, worst)
        sets.append(LabelledSet(name, score(found, truth), score({i: untagged[i] for i in truth}, truth),
                                split_, mixed))
    return SeedStories(sets, len(items), listed)


def worst_stories(found: Mapping[int, int], truth: Mapping[int, str], by_id: Mapping[int, Item],
                  worst: int = 10) -> tuple[list[tuple[str, int, int, list[str]]],
                                             list[tuple[int, int, list[str], list[str]]]]:
    """The `worst` labelled stories spread over most found stories (label, articles, stories,
    a title from each of the three largest parts), and the `worst` found stories holding most
    labels (articles, labels, the labels by size, a title of each of the three largest)."""
    parts: dict[str, Counter[int]] = defaultdict(Counter)
    holds: dict[int, Counter[str]] = defaultdict(Counter)
    first: dict[tuple[str, int], int] = {}
    for item_id in sorted(truth, key=lambda i: (by_id[i].time, i)):
        label, leader = truth[item_id], found[item_id]
        parts[label][leader] += 1
        holds[leader][label] += 1
        first.setdefault((label, leader), item_id)

    def title(label: str, leader: int) -> str:
        return by_id[first[(label, leader)]].title

    split_ = sorted(((label, sum(c.values()), len(c), [title(label, leader) for leader, _ in c.most_common(3)])
                     for label, c in parts.items() if len(c) > 1), key=lambda s: (-s[2], -s[1], s[0]))
    mixed = sorted(((sum(c.values()), len(c), [label for label, _ in c.most_common()],
                     [title(label, leader) for label, _ in c.most_common(3)])
                    for leader, c in holds.items() if len(c) > 1), key=lambda m: (-m[1], -m[0], m[2]))
    return split_[:worst], mixed[:worst]


# --- Scale ---------------------------------------------------------------------------------------

def synthetic_items(n: int, seed: int = 7, days: float = 365.0) -> Iterable[tuple[Item, int]]:
    """N perturbed headlines as (Item, synthetic story number), in no particular order."""
    rng = random.Random(seed)
    by_story: dict[str, list[str]] = defaultdict(list)
    for item, label in load_uci():
        by_story[label].append(item.title)
    stories = list(by_story.values())
    made, story = 0, 0
    while made < n:
        titles = rng.choice(stories)
        size = min(n - made, max(1, int(rng.expovariate(1 / 60))))
        start = rng.uniform(0, days * DAY)
        code = "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(7))
        for _ in range(size):
            made += 1
            title = _perturb(rng.choice(titles), rng) + " " + code
            yield Item(made, start + rng.expovariate(1 / DAY), title, publisher=f"p{rng.randrange(500)}"), story
        story += 1


def _perturb(title: str, rng: random.Random) -> str:
    words = title.split()
    if len(words) > 3 and rng.random() < 0.5:
        del words[rng.randrange(len(words))]
    if len(words) > 2 and rng.random() < 0.3:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    if words and rng.random() < 0.3:
        i = rng.randrange(len(words))
        word = words[i]
        if len(word) > 3:
            j = rng.randrange(len(word) - 1)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    return " ".join(words)


@dataclass(frozen=True)
class ScaleResult:
    """What a scale run measured."""

    n: int
    seconds_make: float
    seconds_cluster: float
    clusters: int
    duplicates: int
    peak_rss_mb: float
    scores: Scores | None
    incremental: int = 0  # new articles in the incremental case (0: not run)
    seconds_incremental: float = 0.0
    warmed: int = 0  # stored articles replayed to rebuild the state before them


def scale_run(n: int, options: ClusterOptions | None = None, with_scores: bool = True,
              incremental: int = 1000) -> ScaleResult:
    """Make N synthetic items, cluster them, and measure time and peak memory; then the clustering
    side of an incremental run: the last `incremental` items arrive new on a database holding the
    others, so the state before them is rebuilt from the stored assignments of the look-back
    window (`Clusterer.warm`, as tracker/stories/cluster_stage.py does) and they are clustered from there."""
    options = options or ClusterOptions()
    started = time.perf_counter()
    pairs = list(synthetic_items(n))
    items = sorted((item for item, _ in pairs), key=lambda i: (i.time, i.id))
    truth = {item.id: story for item, story in pairs} if with_scores else {}
    del pairs
    made = time.perf_counter()
    clusterer = Clusterer(options)
    raw = [clusterer.add(item) for item in items]
    root = merge_roots(clusterer.merges)
    leaders = {a.item_id: root.get(a.leader, a.leader) for a in raw}
    duplicates = sum(a.duplicate_of is not None for a in raw)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    scores = score(leaders, {k: str(v) for k, v in truth.items()}) if with_scores else None
    result = ScaleResult(n, made - started, done - made, len(set(leaders.values())), duplicates, peak, scores)
    if not 0 < incremental < n:
        return result
    start = items[-incremental].time
    before = merge_roots(m for m in clusterer.merges if m[2] < start)
    since = start - lookback_seconds(options)
    del clusterer
    begun = time.perf_counter()
    again = Clusterer(options)
    warmed = 0
    for item, a in zip(items, raw):
        if item.time < since:
            continue
        if item.time < start:
            again.warm(item, before.get(a.leader, a.leader), a.duplicate_of)
            warmed += 1
        else:
            again.add(item)
    return replace(result, incremental=incremental, seconds_incremental=time.perf_counter() - begun, warmed=warmed)


def report_lines(scale: int = 0) -> list[str]:
    """The benchmark's printed figures: quality on the UCI sample, or a scale run of `scale` items."""
    if scale:
        r = scale_run(scale)
        lines = [f"{r.n} synthetic articles: made in {r.seconds_make:.1f} s, clustered in "
                 f"{r.seconds_cluster:.1f} s ({r.n / max(r.seconds_cluster, 1e-9):,.0f}/s), "
                 f"{r.clusters} clusters, {r.duplicates} duplicates, peak RSS {r.peak_rss_mb:,.0f} MB"]
        if r.scores:
            lines.append(f"  against the synthetic stories: B-cubed F1 {r.scores.bcubed_f1:.3f}")
        if r.incremental:
            lines.append(f"  incremental: {r.incremental} new articles clustered in {r.seconds_incremental:.1f} s "
                         f"after warming {r.warmed:,} stored ones of the look-back window (clustering only: "
                         "reading and writing SQLite not counted)")
        return lines
    lines = [f"{'set':18} {'n':>5} {'found':>5} {'true':>4}  {'B3-P':>5} {'B3-R':>5} {'B3-F1':>5}  "
             f"{'pair-P':>6} {'pair-R':>6} {'pair-F1':>7}"]
    seeds = seed_stories_report()
    for labelled in seeds.sets:
        lines.append(_score_line(labelled.name, labelled.scores))
        lines.append(_score_line("  without tags", labelled.untagged))
    for name, s in quality_report().items():
        lines.append(_score_line(f"UCI {name}", s))
    lines += ["", "seed-stories, beat-stories: all shared seeds tagged by the lens (as `tracker run` does) and "
              "clustered from title, excerpt and URL slug; the labelled articles scored.",
              "UCI sample: titles + publishers + URLs; random "
              f"times within 36 h; split seed {SPLIT_SEED}; defaults chosen on the tune half."]
    beat = seeds.sets[-1]
    lines += ["", f"The {len(beat.split)} most split {beat.name} (label: articles in stories found):"]
    for label, size, parts, titles in beat.split:
        lines.append(f"  {label}: {size} in {parts}")
        lines += [f"       {title[:100]}" for title in titles]
    lines += ["", f"The {len(beat.mixed)} most mixed stories found on {beat.name} (articles, labels):"]
    for size, count, labels, titles in beat.mixed:
        lines.append(f"  {size} articles, {count} labels: {', '.join(labels[:4])}{' ...' if count > 4 else ''}")
        lines += [f"       {title[:100]}" for title in titles]
    lines += ["", f"The {len(seeds.largest)} largest stories of all {seeds.articles} shared-seed articles:"]
    for rank, (size, publishers, titles) in enumerate(seeds.largest, 1):
        lines.append(f"{rank:3}. {size} articles, {publishers} publishers")
        lines += [f"       {title[:100]}" for title in titles]
    return lines


def _score_line(name: str, s: Scores) -> str:
    return (f"{name:18} {s.n:>5} {s.clusters:>5} {s.labels:>4}  {s.bcubed_p:5.3f} {s.bcubed_r:5.3f} "
            f"{s.bcubed_f1:5.3f}  {s.pair_p:6.3f} {s.pair_r:6.3f} {s.pair_f1:7.3f}")

