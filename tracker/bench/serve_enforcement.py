"""The enforcement pages of `tracker bench serve`: a synthetic enforcement record beside the
synthetic stories, and the pages timed on it (a decision, a company's and an authority's record,
the enforcement dashboard's queries, fines by regulator).

Kept apart from tracker/bench/serve.py, which only calls `add_enforcement` after building its
database and adds `enforcement_cases` to its pages.

The record is sized like the real one: `tracker bench tag` reconciled 1,652 decisions from a
million articles built from the shared seeds; here one decision per DECISION_EVERY articles (a
heavier record), each reported by 1-30 articles, in cases of 1-3 stages; one article in five is
tagged with a company and one in five with an authority, so the records' story halves have work.
"""

from __future__ import annotations

import json
import random
import urllib.parse
from typing import Any, Callable

from tracker import store
from tracker.dates import epoch_iso
from tracker.store import decisions as stored_decisions
from tracker.store import lens as stored_lens

DECISION_EVERY = 200  # articles per synthetic decision (the real record: about 600)
COMPANIES = 300
AUTHORITIES = 60
KINDS = ["fine", "fine", "fine", "settlement", "intended fine", "damages", "order"]
CURRENCIES = ["EUR", "GBP", "USD"]


def company(i: int) -> tuple[str, str]:
    return f"company-{i}", f"Company {i}"


def authority(i: int) -> tuple[str, str]:
    return f"authority-{i}", f"Authority {i}"


def add_enforcement(db: store.Database, n_articles: int, seed: int) -> int:
    """Write the synthetic record and tags if the database has no decisions yet; returns how many
    decisions it holds."""
    existing = stored_decisions.count_decisions(db)
    if existing or not n_articles:
        return existing
    rng = random.Random(seed + 22)
    tags = []
    for article_id in range(1, n_articles + 1):
        if rng.random() < 0.2:
            tags.append((article_id, *company(rng.randrange(COMPANIES)), "company"))
        if rng.random() < 0.2:
            tags.append((article_id, *authority(rng.randrange(AUTHORITIES)), "regulator"))
    decisions, reports = _record(n_articles, rng)
    with store.transaction(db):
        stored_lens.save_tag_rows(db, tags)
        stored_decisions.replace_decisions(db, decisions, reports)
    return len(decisions)


def _record(n_articles: int, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    decisions: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    case = 0
    while len(decisions) < max(1, n_articles // DECISION_EVERY):
        case += 1
        (target, target_label), (who, who_label) = (company(rng.randrange(COMPANIES)),
                                                   authority(rng.randrange(AUTHORITIES)))
        when = rng.uniform(1_546_300_800.0, 1_609_459_200.0)
        stages = rng.choice([1, 1, 1, 2, 3])
        for stage in range(1, stages + 1):
            amount = float(rng.choice([1, 2, 5, 7.5, 20, 50, 650]) * 1_000_000)
            currency = rng.choice(CURRENCIES)
            decision_id = len(decisions) + 1
            articles = rng.sample(range(1, n_articles + 1), min(n_articles, 1 + int(rng.expovariate(1 / 5)) % 30))
            decisions.append({
                "id": decision_id, "case_id": case, "stage": stage, "kind": rng.choice(KINDS),
                "authority": who, "authority_label": who_label, "target": target, "target_label": target_label,
                "jurisdiction": "gb", "jurisdiction_label": "United Kingdom", "laws": json.dumps(["gdpr"]),
                "law_labels": json.dumps(["GDPR"]), "amount": amount, "currency": currency,
                "amount_eur": amount * 1.1, "decided": epoch_iso(when + stage * 90 * 86400)[:10],
                "reports": len(articles), "articles": len(articles), "counted": int(stage == stages),
                "corrected": 0})
            reports += [{"decision_id": decision_id, "article_id": a, "amount": amount, "currency": currency,
                         "amount_eur": amount * 1.1, "kind": "fine",
                         "evidence": f"{who_label} fined {target_label} {amount:,.0f} {currency}."}
                        for a in articles]
    return decisions, reports


def enforcement_cases(db_name: str, n_decisions: int, rng: random.Random) -> dict[str, Callable[[int], str]]:
    """The enforcement pages timed: name -> path of the i-th request."""
    q = urllib.parse.quote
    charts = {  # the enforcement dashboard's chart queries, as the dashboard's page fetches them
        "dashboard: monthly": "SELECT substr(decided, 1, 7) || '-01' AS month, kind, ROUND(SUM(amount_eur)) AS eur, "
                              "COUNT(*) AS n FROM decisions WHERE counted = 1 AND decided IS NOT NULL "
                              "GROUP BY month, kind ORDER BY month",
        "dashboard: regulators": "SELECT COALESCE(authority_label, '(none named)') AS regulator, "
                                 "ROUND(SUM(amount_eur)) AS eur FROM decisions WHERE counted = 1 "
                                 "GROUP BY authority ORDER BY eur DESC LIMIT 15",
        "dashboard: total": "SELECT COUNT(*) AS count FROM decisions WHERE counted = 1",
    }
    cases: dict[str, Callable[[int], str]] = {
        "decision page": lambda i: f"/{db_name}/decision?id={rng.randint(1, max(1, n_decisions))}",
        "company record": lambda i: f"/{db_name}/company_record?company={company(rng.randrange(COMPANIES))[0]}",
        "authority record": lambda i: (f"/{db_name}/authority_record?authority="
                                       f"{authority(rng.randrange(AUTHORITIES))[0]}"),
        "fines by regulator": lambda i: f"/{db_name}/fines_by_regulator?kind=",
        "enforcement dashboard": lambda i: "/-/dashboards/enforcement",
    }
    for name, sql in charts.items():
        cases[name] = _fixed(f"/{db_name}.json?sql={q(sql)}")
    return cases


def _fixed(path: str) -> Callable[[int], str]:
    """The same path for every request."""
    return lambda i: path
