"""The enforcement record: decisions reconciled from the amounts articles report (pure; the
database side is tracker/lens/record.py).

The fine finder (tracker/lens/fines.py) gives one *mention* per amount and article: "£7.5m",
"£7,552,800", "$10m" and "€8.75m" in four articles are four mentions of one ICO decision. Here they
become *decisions*, one per decision or stage of a case:

- Mentions are grouped by their target (the company of their clause). Within a target, amounts
  whose EUR values lie within SAME_AMOUNT of each other are one amount (an outlet's rounding or
  conversion); mentions naming different authorities are different decisions (the CNIL's and
  Greece's €20m fines of Clearview AI), and one naming none joins the decision of that amount
  nearest in time. A mention with an authority but no target joins that authority's decision of
  the same amount, else makes one of its own. Totals ("fines top $126M"), estimates ("$3-5
  billion") and mentions naming neither authority nor target (passing mentions) make no decision.
- A decision's amount is the authority's own: reported in the currency of its jurisdiction where
  any report gives it, the most precise figure (£7,552,800 over £7.5m), the most reported among
  equally precise ones; its EUR value is taken at the decision date (its earliest report).
  Its kind is the mentions' vote (ties: intended fine, settlement, damages, fine).
- Stages of one case (intended £17m, final £7.5m; a $550m settlement rejected, then $650m) are
  separate decisions linked by `case`: same target and same authority, or, with no authority named,
  the same kind of outcome within CASE_DAYS and amounts within CASE_RATIO. In a case only the latest
  decision of each outcome counts in totals (`counted`): a revised settlement replaces the one
  rejected, a final fine its notice of intent; an intended fine never counts.
- Analyst corrections (merge, split, correct) name mentions by (article, amount, currency), so they
  hold when decisions are rebuilt; they are applied after the rules, in that order.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterable, Mapping, Sequence

SAME_AMOUNT = 0.92  # smaller / larger EUR value at or above this: one amount, rounded or converted
CASE_RATIO = 0.5  # stages of one case with no authority named: amounts within a factor of 2
CASE_DAYS = 366
PRECISE_DIGITS = 4  # "£7,552,800" (5 significant digits) and "£7,552,880" are equally precise
KIND_ORDER = ("intended fine", "settlement", "damages", "fine")  # vote ties go to the first
ORDER_KINDS = ("order", "ban", "reprimand")  # decisions without an amount
ORDER_GAP_DAYS = 90  # reports of one order, ban or reprimand further apart than this: two decisions
NOT_DECISIONS = frozenset({"total", "estimate"})  # many penalties added up; a range someone expects
FAMILY = {"fine": "fine", "intended fine": "fine", "settlement": "settlement", "damages": "settlement"}
KIND_LABELS = {"fine": "Fine", "intended fine": "Intended fine", "settlement": "Settlement",
               "damages": "Damages or verdict", "order": "Order", "ban": "Ban", "reprimand": "Reprimand"}
EURO_AREA = {"eu", "eea", "at", "be", "hr", "cy", "ee", "fi", "fr", "de", "gr", "ie", "it", "lv", "lt",
             "lu", "mt", "nl", "pt", "sk", "si", "es"}
CURRENCIES = {"gb": "GBP", "us": "USD", "ca": "CAD", "ca-qc": "CAD", "au": "AUD", "nz": "NZD",
              "br": "BRL", "ch": "CHF", "li": "CHF", "no": "NOK", "se": "SEK", "dk": "DKK", "is": "ISK",
              "pl": "PLN", "cz": "CZK", "hu": "HUF", "ro": "RON", "bg": "BGN", "jp": "JPY", "kr": "KRW",
              "cn": "CNY", "hk": "HKD", "in": "INR", "sg": "SGD", "za": "ZAR", "tr": "TRY", "mx": "MXN",
              "ru": "RUB", "il": "ILS", "th": "THB", "ph": "PHP", "my": "MYR", "id": "IDR", "tw": "TWD",
              "ar": "ARS", "cl": "CLP", "co": "COP", "ng": "NGN", "ke": "KES", "ae": "AED", "sa": "SAR"}

Key = tuple[int, float, str]  # a mention: (article id, amount, currency)
ToEur = Callable[[float, str, date | None], float | None]


@dataclass(frozen=True)
class Mention:
    """One amount as one article reports it (a row of `fines`)."""

    article_id: int
    amount: float
    currency: str
    amount_eur: float | None
    kind: str
    regulator: str | None
    company: str | None
    law: str | None
    published: str | None  # the article's publication date (ISO)
    evidence: str = ""

    @property
    def key(self) -> Key:
        """(article, amount, currency); an order's "currency" names it: "order/cnil/clearview-ai"."""
        if self.is_order:
            return (self.article_id, 0.0, f"{self.kind}/{self.regulator}/{self.company}")
        return (self.article_id, self.amount, self.currency)

    @property
    def is_order(self) -> bool:
        return self.kind in ORDER_KINDS


@dataclass(frozen=True)
class Correction:
    """An analyst's correction: `merge` (key and other), `split` (keys: one decision of their own),
    or `correct` (the decision holding key gets `fields`: amount, currency, kind, decided)."""

    action: str
    key: Key
    other: Key | None = None
    keys: tuple[Key, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Names:
    """What the reconciliation needs of the taxonomy: labels and each entry's jurisdiction."""

    labels: Mapping[str, str]
    jurisdictions: Mapping[str, str]


@dataclass
class Decision:
    """One decision or stage of a case, with the mentions that report it."""

    mentions: list[Mention]
    kind: str = "fine"
    authority: str | None = None
    target: str | None = None
    jurisdiction: str | None = None
    laws: tuple[str, ...] = ()
    amount: float | None = None  # None for orders, bans and reprimands
    currency: str | None = None
    amount_eur: float | None = None
    decided: str | None = None
    corrected: bool = False
    id: int = 0
    case: int = 0  # filled by `number`: the id of the case's first decision
    stage: int = 1
    counted: bool = True

    @property
    def keys(self) -> set[Key]:
        return {m.key for m in self.mentions}


# --- Grouping mentions into decisions --------------------------------------------------------

def reconcile(mentions: Iterable[Mention], names: Names, to_eur: ToEur,
              corrections: Sequence[Correction] = ()) -> list[Decision]:
    """Decisions from mentions (see the module docstring), corrections applied, not yet numbered."""
    usable = [m for m in mentions if m.kind not in NOT_DECISIONS and (m.company or m.regulator)]
    orders = [m for m in usable if m.is_order]
    usable = [m for m in usable if not m.is_order]
    by_target: dict[str, list[Mention]] = {}
    for mention in usable:
        if mention.company:
            by_target.setdefault(mention.company, []).append(mention)
    groups: list[list[Mention]] = []
    for target_mentions in by_target.values():
        groups += _by_authority(_by_amount(target_mentions))
    groups = _attach_untargeted([m for m in usable if not m.company], groups) + _orders(orders)
    groups = _apply_structure(groups, corrections)
    decisions = [describe(group, names, to_eur) for group in groups if group]
    return _apply_fields(decisions, corrections, to_eur)


def _orders(mentions: list[Mention]) -> list[list[Mention]]:
    """Reports of one kind of order by one authority on one target, split where ORDER_GAP_DAYS
    pass without a report (a second order, years later, is another decision)."""
    by_party: dict[tuple[str, str | None, str | None], list[Mention]] = {}
    for mention in sorted(mentions, key=lambda m: (_ordinal(m.published), m.key)):
        by_party.setdefault((mention.kind, mention.regulator, mention.company), []).append(mention)
    groups: list[list[Mention]] = []
    for reports in by_party.values():
        groups.append([reports[0]])
        for previous, mention in zip(reports, reports[1:]):
            if _ordinal(mention.published) - _ordinal(previous.published) > ORDER_GAP_DAYS:
                groups.append([])
            groups[-1].append(mention)
    return groups


def _eur(mention: Mention) -> float:
    return mention.amount_eur if mention.amount_eur else mention.amount


def same_amount(a: float, b: float) -> bool:
    """Whether two values are one amount, rounded or converted differently."""
    low, high = sorted((abs(a), abs(b)))
    return high > 0 and low / high >= SAME_AMOUNT


def alike(a: Mention, b: Mention) -> bool:
    """Whether two mentions give one amount: compared as written in one currency (rates move
    between two reports' dates), else in EUR."""
    if a.currency == b.currency:
        return same_amount(a.amount, b.amount)
    return same_amount(_eur(a), _eur(b))


def _by_amount(mentions: list[Mention]) -> list[list[Mention]]:
    """Runs of mentions, sorted by EUR value, each within SAME_AMOUNT of its run's smallest."""
    runs: list[list[Mention]] = []
    for mention in sorted(mentions, key=lambda m: (_eur(m), m.key)):
        if runs and alike(runs[-1][0], mention):
            runs[-1].append(mention)
        else:
            runs.append([mention])
    return runs


def _by_authority(runs: list[list[Mention]]) -> list[list[Mention]]:
    """Each run split per authority named; mentions naming none join the nearest in time."""
    groups: list[list[Mention]] = []
    for run in runs:
        named: dict[str, list[Mention]] = {}
        for mention in run:
            if mention.regulator:
                named.setdefault(mention.regulator, []).append(mention)
        if not named:
            groups.append(run)
            continue
        candidates = list(named.values())
        days = [sorted(_ordinal(m.published) for m in g) for g in candidates]
        for mention in run:
            if not mention.regulator:
                candidates[_nearest(days, mention)].append(mention)
        groups += candidates
    return groups


def _nearest(days: list[list[int]], mention: Mention) -> int:
    """Index of the group (given by its mentions' sorted day numbers) with a mention nearest in time."""
    at = _ordinal(mention.published)
    return min(range(len(days)), key=lambda i: (_distance(days[i], at), i))


def _distance(days: list[int], at: int) -> int:
    i = bisect.bisect_left(days, at)
    return min(abs(days[j] - at) for j in (i - 1, i) if 0 <= j < len(days))


def _attach_untargeted(mentions: list[Mention], groups: list[list[Mention]]) -> list[list[Mention]]:
    """Mentions with an authority but no target join that authority's decision of their amount
    (nearest in time), else group among themselves by authority and amount."""
    alone: dict[str, list[Mention]] = {}
    cache: dict[int, list[int]] = {}  # a group's report days, as its targeted reports give them
    by_authority: dict[str | None, list[tuple[float, list[Mention]]]] = {}
    for group in groups:
        by_authority.setdefault(_authority(group), []).append((_eur(group[0]), group))
    for listed in by_authority.values():
        listed.sort(key=lambda pair: pair[0])
    for mention in mentions:
        assert mention.regulator
        listed = by_authority.get(mention.regulator, [])
        low = bisect.bisect_left(listed, _eur(mention) * SAME_AMOUNT * SAME_AMOUNT, key=lambda pair: pair[0])
        high = bisect.bisect_right(listed, _eur(mention) / SAME_AMOUNT / SAME_AMOUNT, key=lambda pair: pair[0])
        fits = [g for _, g in listed[low:high] if alike(g[0], mention)]
        if fits:
            days = [_days(g, cache) for g in fits] if len(fits) > 1 else [[0]]
            fits[_nearest(days, mention)].append(mention)
        else:
            alone.setdefault(mention.regulator, []).append(mention)
    for authority_mentions in alone.values():
        groups += _by_amount(authority_mentions)
    return groups


def _days(group: list[Mention], cache: dict[int, list[int]]) -> list[int]:
    if id(group) not in cache:
        cache[id(group)] = sorted(_ordinal(m.published) for m in group)
    return cache[id(group)]


def _authority(group: list[Mention]) -> str | None:
    votes = Counter(m.regulator for m in group if m.regulator)
    return min(votes, key=lambda r: (-votes[r], r)) if votes else None


def _ordinal(published: str | None) -> int:
    day = _day(published)
    return day.toordinal() if day else 0


def _day(published: str | None) -> date | None:
    try:
        return date.fromisoformat(published[:10]) if published else None
    except ValueError:
        return None


# --- What a decision says --------------------------------------------------------------------

def describe(mentions: list[Mention], names: Names, to_eur: ToEur) -> Decision:
    """A decision's authority, target, kind, jurisdiction, laws, amount and date from its mentions."""
    decision = Decision(sorted(mentions, key=lambda m: (m.published or "", m.key)))
    decision.authority = _authority(mentions)
    targets = Counter(m.company for m in mentions if m.company)
    decision.target = min(targets, key=lambda t: (-targets[t], t)) if targets else None
    kinds = Counter(m.kind for m in mentions)
    decision.kind = min(kinds, key=lambda k: (-kinds[k], KIND_ORDER.index(k) if k in KIND_ORDER else 9))
    laws = Counter(m.law for m in mentions if m.law)
    decision.laws = tuple(sorted(laws, key=lambda law: (-laws[law], law)))
    decision.jurisdiction = _jurisdiction(decision, names)
    dates = sorted(m.published[:10] for m in mentions if m.published)
    decision.decided = dates[0] if dates else None
    if decision.kind in ORDER_KINDS:
        return decision  # no amount
    decision.amount, decision.currency = own_amount(mentions, currency_of(decision.jurisdiction))
    decision.amount_eur = to_eur(decision.amount, decision.currency, _day(decision.decided))
    return decision


def _jurisdiction(decision: Decision, names: Names) -> str | None:
    for tag in (decision.authority, *decision.laws):
        if tag and tag in names.jurisdictions:
            return names.jurisdictions[tag]
    return None


def currency_of(jurisdiction: str | None) -> str | None:
    """The currency a jurisdiction's authorities decide in (None when unknown)."""
    if not jurisdiction:
        return None
    if jurisdiction in EURO_AREA:
        return "EUR"
    if jurisdiction.startswith("us-"):
        return "USD"
    return CURRENCIES.get(jurisdiction)


def own_amount(mentions: Sequence[Mention], currency: str | None) -> tuple[float, str]:
    """The figure the authority decided: in its own currency if any report gives it (else the most
    reported currency), the most precise figure, the most reported among equally precise ones."""
    currencies = Counter(m.currency for m in mentions)
    own = min(currencies, key=lambda c: (-currencies[c], c))
    if currency is not None and currency in currencies:
        own = currency
    counts = Counter(m.amount for m in mentions if m.currency == own)
    best = max(counts, key=lambda a: (min(significant_digits(a), PRECISE_DIGITS), counts[a],
                                      significant_digits(a), -a))
    return best, own


def significant_digits(amount: float) -> int:
    """Significant digits of an amount: 7500000 -> 2, 7552800 -> 5."""
    digits = f"{abs(amount):.2f}".replace(".", "").lstrip("0").rstrip("0")
    return max(len(digits), 1)


# --- Corrections ---------------------------------------------------------------------------

def _apply_structure(groups: list[list[Mention]], corrections: Sequence[Correction]) -> list[list[Mention]]:
    """Splits (the named mentions leave their decision for one of their own), then merges."""
    for correction in corrections:
        if correction.action == "split":
            keys = set(correction.keys or (correction.key,))
            moved = [m for g in groups for m in g if m.key in keys]
            if moved:
                groups = [[m for m in g if m.key not in keys] for g in groups] + [moved]
    for correction in corrections:
        if correction.action == "merge" and correction.other is not None:
            first = _holding(groups, correction.key)
            second = _holding(groups, correction.other)
            if first is not None and second is not None and first is not second:
                first.extend(second)
                second.clear()
    return [g for g in groups if g]


def _holding(groups: list[list[Mention]], key: Key) -> list[Mention] | None:
    return next((g for g in groups if any(m.key == key for m in g)), None)


def _apply_fields(decisions: list[Decision], corrections: Sequence[Correction], to_eur: ToEur) -> list[Decision]:
    for correction in corrections:
        if correction.action != "correct":
            continue
        decision = next((d for d in decisions if correction.key in d.keys), None)
        if decision is None:
            continue
        fields = correction.fields
        decision.kind = fields.get("kind", decision.kind)
        decision.decided = fields.get("decided", decision.decided)
        if "amount" in fields:
            decision.amount = float(fields["amount"])
            decision.currency = fields.get("currency", decision.currency)
        if decision.amount is not None and decision.currency:
            decision.amount_eur = to_eur(decision.amount, decision.currency, _day(decision.decided))
        decision.corrected = True
    return decisions


# --- Cases, stages and ids -----------------------------------------------------------------

def same_case(a: Decision, b: Decision) -> bool:
    """Whether two decisions are stages of one case (see the module docstring)."""
    if a.target != b.target or a.target is None:
        return False
    if a.authority or b.authority:
        return a.authority == b.authority
    if FAMILY.get(a.kind) != FAMILY.get(b.kind):
        return False
    if abs(_ordinal(a.decided) - _ordinal(b.decided)) > CASE_DAYS:
        return False
    low, high = sorted((abs(a.amount_eur or a.amount or 0), abs(b.amount_eur or b.amount or 0)))
    return high > 0 and low / high >= CASE_RATIO


def number(decisions: list[Decision], previous: Mapping[Key, int], next_id: int) -> int:
    """Give each decision an id (the previous id sharing most of its mentions, else a new one
    from `next_id`), its case, stage and whether it counts in totals; returns the next free id."""
    taken: set[int] = set()
    order = sorted(decisions, key=lambda d: (-len(d.mentions), d.decided or "", min(d.keys)))
    for decision in order:
        votes = Counter(previous[k] for k in decision.keys if k in previous and previous[k] not in taken)
        if votes:
            decision.id = min(votes, key=lambda i: (-votes[i], i))
        else:
            decision.id, next_id = next_id, next_id + 1
        taken.add(decision.id)
    _link_cases(decisions)
    return next_id


def _link_cases(decisions: list[Decision]) -> None:
    by_target: dict[str | None, list[Decision]] = {}
    for decision in decisions:
        by_target.setdefault(decision.target, []).append(decision)
    for group in by_target.values():
        group.sort(key=lambda d: (d.decided or "", d.id))
        cases: list[list[Decision]] = []
        for decision in group:
            home = next((c for c in cases if any(same_case(decision, other) for other in c)), None)
            if home is None:
                cases.append([decision])
            else:
                home.append(decision)
        for case in cases:
            _stage(case)


def _stage(case: list[Decision]) -> None:
    latest: dict[str, Decision] = {}
    for stage, decision in enumerate(case, start=1):
        decision.case, decision.stage = case[0].id, stage
        decision.counted = decision.kind != "intended fine"
        family = FAMILY.get(decision.kind, decision.kind)
        if decision.counted:
            if family in latest:
                latest[family].counted = False  # replaced by this later stage
            latest[family] = decision

