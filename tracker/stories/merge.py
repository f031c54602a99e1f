"""Merges: fragments of one story that only later turn out to be one, and following merges to the
cluster that survives them.

A story often starts as fragments worded differently. After each join, the cluster is compared with
the item's next-best candidates (`merge_candidates`) and merged with those whose average linkage
(sum . sum / (n_a n_b): the mean similarity of all cross pairs) reaches `merge_threshold` (a lone
article must pass the joining test instead) and that show evidence of one event
(`tracker.stories.evidence.supports_merge`); the cluster that began first survives.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

from tracker.stories.evidence import supports_merge
from tracker.stories.index import OpenCluster, OpenClusters
from tracker.stories.model import DAY, ClusterOptions, dot


def merge_fragments(clusters: OpenClusters, cluster: OpenCluster, leaders: list[int],
                    options: ClusterOptions) -> list[tuple[int, int]]:
    """Merge `cluster` with each of `leaders` whose average linkage to it reaches the merge
    threshold, with evidence; the cluster that began first survives. Returns the merges made,
    as (absorbed leader, surviving leader)."""
    merged: list[tuple[int, int]] = []
    if cluster.pinned or not cluster.size:
        return merged
    weight = clusters.topic_weight()
    for leader in leaders:
        other = clusters.get(leader)
        if other is None or other is cluster or not _mergeable(cluster, other, options):
            continue
        product = dot(*sorted((cluster.centroid, other.centroid), key=len))
        mean = product / (cluster.size * other.size)  # average linkage
        if min(cluster.size, other.size) == 1:  # merging a lone article is joining: same test
            lone, group = (cluster, other) if cluster.size == 1 else (other, cluster)
            merge = product / math.sqrt(lone.norm2 * group.norm2) >= options.threshold
        else:
            merge = mean >= options.merge_threshold
        if merge and supports_merge(cluster.evidence, other.evidence, mean, options, weight):
            keep, gone = sorted((cluster, other), key=lambda c: (c.first, c.leader))
            clusters.fold(keep, gone)
            merged.append((gone.leader, keep.leader))
            cluster = keep
    return merged


def _mergeable(a: OpenCluster, b: OpenCluster, options: ClusterOptions) -> bool:
    if b.pinned or not b.size or a.script != b.script:
        return False
    if a.language and b.language and a.language != b.language:
        return False
    return max(a.last, b.last) - min(a.first, b.first) <= options.span_days * DAY


def survivor(node: int, into: Callable[[int], int | None], known: dict[int, int] | None = None) -> int:
    """Follow merges from `node` (`into(x)`: what x was merged into, None if nothing) to the one
    that survives them all. A cycle (only in bad data) stops where it closes. With `known`
    (survivors found so far), the walk stops at a node already resolved and records the nodes it
    passed; only for merges that no longer change."""
    path: list[int] = []
    seen: set[int] = set()
    while node not in seen:
        if known is not None and node in known:
            node = known[node]
            break
        after = into(node)
        if after is None:
            break
        seen.add(node)
        path.append(node)
        node = after
    if known is not None:
        for passed in path:
            known[passed] = node
    return node


def merge_roots(merges: Iterable[tuple[int, int, float]]) -> dict[int, int]:
    """Absorbed leader -> the leader that finally holds it, from (absorbed, survivor, time) merges."""
    into = {gone: keep for gone, keep, _ in merges}
    roots: dict[int, int] = {}
    for leader in into:
        survivor(leader, into.get, roots)
    return roots
