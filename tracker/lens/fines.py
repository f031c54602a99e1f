"""Money in enforcement news: amounts, their currency and kind, converted to EUR.

The one module that imports currencyconverter (the ECB's reference rates since 1999, bundled; its
series ends 2026-10-30, so later or missing dates take the nearest known rate).

An amount counts only when its sentence speaks of a penalty or payment (fined, penalty, settle,
pay, damages, amende, Bußgeld, multa...): "raises $3 million" in a funding story is not a fine.
Legal maxima ("fines of up to €20 million"), rates ("$25,000 for each violation", "€50,000 a day")
and sums described as revenue, turnover, funding or a valuation are left out. Scale words (m, mn,
bn, million, Mio., Mrd., milliards, mil...) are applied here; a bare "$" or "kr" takes its currency
from the jurisdiction the clause, else the text, names (A$ in an Australian ruling, NOK in a
Norwegian one); "mil" is a thousand ("R$ 14,4 mil") except after an English-speaking currency.

Kinds: `total` (a sum of many penalties: "GDPR fines top €1bn", "penalties totalling $126M so far"),
`estimate` (a range: "$3-5 billion", stored at its upper figure), `intended fine` (notice of intent,
provisional, proposed, asked of a court), `settlement`, `damages` and `fine`; a
sentence that only says someone pays (an acquisition, a grant) gives none. A total is kept, as news,
but it is not one party's penalty: it is tied to no company, and sums of fines leave it out.

An amount is tied to the regulator, company and law matched in its sentence (the nearest one);
failing that, to the article's only regulator, company or law when it names exactly one, unless
every mention of that one lies in another clause of the amount's own sentence: a headline that
joins two stories with a semicolon ("Fines Top $126M; Google CEO Calls For AI Governance") names
the second story's company, not the payer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from currency_converter import CurrencyConverter

from tracker.lens.matcher import Match, Tagged

_NUM = r"\d{1,3}(?:[,.\u202f ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
SCALES: dict[str, float] = {
    "k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "mln": 1e6, "million": 1e6, "millions": 1e6,
    "mio": 1e6, "mio.": 1e6, "millionen": 1e6, "millones": 1e6, "milioni": 1e6, "milhões": 1e6,
    "b": 1e9, "bn": 1e9, "billion": 1e9, "billions": 1e9, "mrd": 1e9, "mrd.": 1e9, "milliard": 1e9,
    "milliards": 1e9, "milliarde": 1e9, "milliarden": 1e9, "miliardi": 1e9, "mil millones": 1e9,
    "mil milhões": 1e9, "mil": 1e3,  # "R$ 14,4 mil" is 14,400 reais; "$5 mil" (English) see MIL_MILLION
    "crore": 1e7, "lakh": 1e5, "tn": 1e12, "trillion": 1e12,
}
_SCALE = "|".join(re.escape(s) for s in sorted(SCALES, key=len, reverse=True))
PREFIXES: dict[str, str] = {
    "us$": "USD", "a$": "AUD", "au$": "AUD", "c$": "CAD", "ca$": "CAD", "nz$": "NZD", "hk$": "HKD",
    "s$": "SGD", "r$": "BRL", "$": "USD", "£": "GBP", "€": "EUR", "¥": "JPY", "₩": "KRW", "₹": "INR",
    "rs.": "INR", "rs": "INR", "chf": "CHF",
}
CODES = ("USD", "EUR", "GBP", "CHF", "JPY", "CNY", "KRW", "INR", "BRL", "AUD", "CAD", "NZD", "SGD",
         "HKD", "SEK", "NOK", "DKK", "PLN", "ZAR", "TRY", "RUB", "CZK", "HUF", "RON", "MXN")
SUFFIXES: dict[str, str] = {
    "euros": "EUR", "euro": "EUR", "d'euros": "EUR", "de euros": "EUR", "di euro": "EUR", "€": "EUR",
    "dollars": "USD", "dollar": "USD", "us dollars": "USD", "pounds": "GBP", "pound": "GBP",
    "pounds sterling": "GBP", "£": "GBP", "yen": "JPY", "yuan": "CNY", "renminbi": "CNY", "won": "KRW",
    "rupees": "INR", "reais": "BRL", "swiss francs": "CHF", "francs": "CHF", "kronor": "SEK",
    "kr": "KR", "kr.": "KR", "kroner": "KR", "krone": "KR", "kronur": "ISK",  # KR: which crown, from context
    "zloty": "PLN", "złoty": "PLN", "rand": "ZAR", "lira": "TRY", "roubles": "RUB", "rubles": "RUB",
    **{code.lower(): code for code in CODES},
}
_PRE = "|".join(re.escape(p) for p in sorted([*PREFIXES, *(c.lower() for c in CODES)], key=len, reverse=True))
_POST = "|".join(re.escape(s) for s in sorted(SUFFIXES, key=len, reverse=True))
# Currencies a bare sign leaves open, settled by the one jurisdiction of that currency the text
# names: "$5.8m" in an Australian court's ruling is A$, "100 000 kr" in a Norwegian decision NOK.
CONTEXT_CURRENCIES: dict[str, dict[str, str]] = {
    "USD": {"au": "AUD", "ca": "CAD", "ca-qc": "CAD", "nz": "NZD", "sg": "SGD", "hk": "HKD"},
    "KR": {"no": "NOK", "se": "SEK", "dk": "DKK", "is": "ISK"},
}
MIL_MILLION = frozenset({"USD", "GBP", "AUD", "CAD", "NZD"})  # in English "$5 mil" is five million
AMOUNT = re.compile(
    rf"(?<![\w$£€])(?P<pre>{_PRE})\s?(?P<num>{_NUM})(?:\s?(?P<scale>{_SCALE})(?!\w))?(?!\w)"
    rf"|(?<![\w.,$£€])(?P<num2>{_NUM})\s?(?:(?P<scale2>{_SCALE})\s?)?(?:of\s)?(?P<post>{_POST})(?!\w)",
    re.IGNORECASE)
# "$3-5 billion", "€10 to €20 million": a range, an estimate rather than a decided amount
RANGE = re.compile(rf"(?<![\w$£€])(?P<pre>{_PRE})\s?(?P<low>{_NUM})\s?(?:-|\u2013|to)\s?(?:(?P=pre)\s?)?"
                   rf"(?P<num>{_NUM})\s?(?P<scale>{_SCALE})(?!\w)", re.IGNORECASE)
MONEY_ACTION = re.compile(
    r"(?<!\w)(?:fine[ds]?|fining|penalt(?:y|ies)|penali[sz]\w*|sanction\w*|settle\w*|pay|pays|paid|"
    r"paying|damages|compensation|amende\w*|bu(?:ß|ss)geld\w*|geldbu(?:ß|ss)e\w*|strafe\w*|"
    r"multa\w*|multe|sanzion\w*|sanci[oó]n\w*)(?!\w)", re.IGNORECASE)
KINDS: list[tuple[str, re.Pattern[str]]] = [
    # plural fines that add up: checked first, since "fines" alone would make it a `fine`
    ("total", re.compile(r"(?:fines|penalties|sanctions|settlements|amendes|bu(?:ß|ss)gelder|multas)\W+"
                         r"(?:\w+\W+){0,4}?(?:tops?|topped|topping|totall?(?:ed|ing|s)?|exceed\w*|"
                         r"surpass\w*|reach\w*|amount(?:ed|ing)? to|add(?:ed|ing|s)? up to|pass(?:es|ed)?)\b",
                         re.IGNORECASE)),
    ("intended fine", re.compile(r"intend\w* to (?:fine|impose)|intention to fine|notice of intent|"
                                 r"provisional\w*|proposed (?:fine|penalty)|propos\w+ to fine|"
                                 r"preliminary|could be fined|plans to fine|"
                                 # "proposed a $23m fine", "seeks a €5m penalty", "asks the court to fine"
                                 r"(?:propos|seek|sought|recommend)\w*\s+(?:a\s+|an\s+)?(?:\S+\s+){0,3}?"
                                 r"(?:fine|penalt)|ask\w* (?:the|a) (?:court|judge) to (?:fine|impose|order)|"
                                 r"draft decision", re.IGNORECASE)),
    ("settlement", re.compile(r"settle\w*|agreed to pay|agrees to pay|to resolve", re.IGNORECASE)),
    ("damages", re.compile(r"damages|compensation|class[- ]action", re.IGNORECASE)),
    ("fine", re.compile(r"fine[ds]?\b|fining|penalt|penali[sz]|sanction|amende|bu(?:ß|ss)geld|ordered to pay|"
                        r"geldbu(?:ß|ss)e|multa|sanzion|sanci", re.IGNORECASE)),
]
_MAXIMUM_BEFORE = re.compile(r"(?:up to|as much as|maximum(?: of)?|max\.?|of up to|bis zu|jusqu'à)\s*$",
                             re.IGNORECASE)
_NOT_A_FINE_BEFORE = re.compile(r"(?:revenue|turnover|sales|worth|valued at|valuation of|raised?|raises|"
                                r"raising|funding of|invest\w*|acquir\w*|bought|buy|for)\s*(?:of\s*)?$",
                                re.IGNORECASE)
_NOT_A_FINE_AFTER = re.compile(r"^\s*(?:in (?:revenue|sales|funding|annual|profit)|of (?:revenue|"
                               r"turnover|funding)|funding|round|valuation|a year|per year|annually|"
                               r"revenue|turnover|"
                               # a rate, not a decision: "$25,000 for each violation", "€50,000 a day"
                               r"(?:for each|for every|per|a|an|each)\s+(?:\w+\s+)?(?:violation|breach|"
                               r"infringement|day|week|month|user|person|claimant|member|resident|child|"
                               r"customer|individual|image|photo)s?\b|each\b)", re.IGNORECASE)
EVIDENCE_CHARS = 600
MIN_AMOUNT = 1000  # smaller sums are cut-off headlines ("Fines Top $126 ..."), not penalties


@dataclass(frozen=True)
class Fine:
    amount: float
    currency: str
    amount_eur: float | None
    kind: str
    regulator: str | None
    company: str | None
    law: str | None
    evidence: str
    local_ties: int = 0  # how many of regulator, company and law were found in the sentence itself


class FineFinder:
    """Built once per run (loading the ECB series takes half a second); `find` is then pure."""

    def __init__(self) -> None:
        self._converter = CurrencyConverter(fallback_on_missing_rate=True, fallback_on_wrong_date=True)

    def to_eur(self, amount: float, currency: str, on: date | None) -> float | None:
        """`amount` in EUR at the ECB rate of day `on` (nearest known day), or None if unknown."""
        if currency == "EUR":
            return amount
        if currency not in self._converter.currencies:
            return None
        return round(float(self._converter.convert(amount, currency, "EUR", date=on or date.today())), 2)

    def find(self, tagged: Tagged, published: str | None) -> list[Fine]:
        """Every amount of a tagged text that is a penalty or payment, one per (amount, currency)."""
        if not MONEY_ACTION.search(tagged.text):
            return []  # most texts: no penalty word, no need to look for amounts
        on = _day(published)
        fines: dict[tuple[float, str], Fine] = {}
        ranges = [(r.start(), r.end()) for r in RANGE.finditer(tagged.text)]
        found_all = [*RANGE.finditer(tagged.text),
                     *(m for m in AMOUNT.finditer(tagged.text) if not any(a <= m.start() < b for a, b in ranges))]
        bounds = sorted((m.start(), m.end()) for m in found_all)
        for found in found_all:
            fine = self._fine(tagged, found, on, _neighbours(bounds, found.start()))
            if fine is None:
                continue
            key = (fine.amount, fine.currency)
            if key not in fines or fine.local_ties > fines[key].local_ties:
                fines[key] = fine
        return list(fines.values())

    def _fine(self, tagged: Tagged, found: re.Match[str], on: date | None,
              neighbours: tuple[int, int]) -> Fine | None:
        start, end = _clause(tagged, found.start())
        sentence = tagged.text[start:end]
        kind = _kind(sentence) if MONEY_ACTION.search(sentence) else None
        if kind is None or _excluded(tagged.text, found, start, end):
            return None
        # Two amounts in one clause may be two stages: "fined £7.5m, down from the £17m it had
        # proposed". The words between an amount and its neighbours say which it is, if they can.
        own = tagged.text[max(start, neighbours[0]):min(end, neighbours[1])]
        kind = "intended fine" if _EARLIER_BEFORE.search(tagged.text, start, found.start()) else _kind(own) or kind
        parsed = parse_amount(found)
        if parsed is None or parsed[0] < MIN_AMOUNT:
            return None
        amount, currency = parsed
        if found.re is RANGE:
            kind = "estimate"
        if found.groupdict().get("pre") in ("$", None) and currency in CONTEXT_CURRENCIES:
            resolved = _from_context(tagged, currency, start, end)
            if resolved is None:
                return None  # "kr" in a text naming no Nordic country: which crown is unknown
            currency = resolved
        ties = {role: _tie(tagged, role, start, end, found.start()) for role in ("regulator", "company", "law")}
        if kind == "total":
            ties["company"] = (None, False)  # many parties' penalties added up: none of them paid it all
        return Fine(amount, currency, self.to_eur(amount, currency, on), kind, ties["regulator"][0],
                    ties["company"][0], ties["law"][0], sentence.strip()[:EVIDENCE_CHARS],
                    sum(local for _, local in ties.values()))


# Decisions without an amount: the lens's action tags that name one, as the record calls them.
ORDER_KINDS = {"order": "order", "ban": "ban", "warning": "reprimand"}


def find_orders(tagged: Tagged) -> list[Fine]:
    """Orders, bans and reprimands an authority gave a company: an action match of ORDER_KINDS
    with a company in its own clause and a regulator there (or the article's only one). Returned as
    Fines of amount 0 and no currency, one per (kind, regulator, company)."""
    found: dict[tuple[str, str, str], Fine] = {}
    clauses: set[tuple[int, str, str]] = set()  # one decision per clause: "orders X to stop processing"
    for match in tagged.matches:
        kind = ORDER_KINDS.get(match.tag) if match.kind == "action" else None
        if kind is None:
            continue
        start, end = _clause(tagged, match.start)
        company, regulator = _order_parties(tagged, match, start, end)
        if company is None or regulator is None or (start, regulator, company) in clauses:
            continue
        clauses.add((start, regulator, company))
        law, _ = _tie(tagged, "law", start, end, match.start)
        found.setdefault((kind, regulator, company), Fine(
            0.0, "", None, kind, regulator, company, law, tagged.text[start:end].strip()[:EVIDENCE_CHARS]))
    return list(found.values())


# An action asked for, proposed, discussed or disputed is not one taken.
_NOT_TAKEN = re.compile(r"\b(?:urg\w*|call(?:s|ed|ing)? (?:on|for)|asks?|asked|asking|petition\w*|demand\w*|"
                        r"propos\w*|consider\w*|could|may|might|would|should|plans? to|threaten\w*|"
                        r"disagree\w*|debat\w*|oppos\w*|back\w*|support\w*|temporary|necessary)\b", re.IGNORECASE)


_RECEIVED = re.compile(r"\b(?:been|was|were|received?|receives|got|gets|hit with|handed|given|slapped with|"
                       r"served(?: with)?)\b", re.IGNORECASE)


def _given(text: str, company: Match, action: Match, regulators: list[int]) -> bool:
    """Whether a company named before the action is given it: "X has been issued with an
    enforcement notice", "the watchdog issues X an enforcement notice"."""
    return company.start < action.start and (
        bool(_RECEIVED.search(text, company.end, action.start)) or any(r < company.start for r in regulators))


def _order_parties(tagged: Tagged, match: Match, start: int, end: int) -> tuple[str | None, str | None]:
    """(company, regulator) of an order, ban or reprimand: the company it is given to, named after
    the action ("the FTC bans Rite Aid") or before it in the passive ("Rite Aid banned from"), and
    the regulator of its clause (or the article's only one); (None, None) for an action not taken."""
    if _NOT_TAKEN.search(tagged.text, start, match.start) or _NOT_TAKEN.search(tagged.text, match.end, end):
        return None, None
    passive = tagged.text[match.start:match.end].split()[0].lower().endswith("ed")
    regulators = [m.start for m in tagged.matches if m.kind == "regulator" and start <= m.start < end]
    near = [m for m in tagged.matches if m.kind == "company" and start <= m.start < end
            and not _attributive(tagged.text, m)
            and (m.start > match.start or passive or _given(tagged.text, m, match, regulators))]
    if not near:
        return None, None
    company = min(near, key=lambda m: abs(m.start - match.start)).tag
    return company, _tie(tagged, "regulator", start, end, match.start)[0]


def parse_amount(found: re.Match[str]) -> tuple[float, str] | None:
    """(amount in units, ISO currency) of an AMOUNT match, scale words applied."""
    groups = found.groupdict()
    number = groups.get("num") or groups["num2"]
    scale = (groups.get("scale") or groups.get("scale2") or "").lower()
    if groups.get("pre"):
        currency = PREFIXES.get(groups["pre"].lower()) or groups["pre"].upper()
    else:
        currency = SUFFIXES[groups["post"].lower()]
    value = parse_number(number, scaled=bool(scale))
    if value is None or value == 0:
        return None
    factor = 1e6 if scale == "mil" and currency in MIL_MILLION else SCALES.get(scale, 1.0)
    return round(value * factor, 2), currency


def _from_context(tagged: Tagged, currency: str, start: int, end: int) -> str | None:
    """The currency a bare sign stands for: that of the one jurisdiction of its family the clause
    names, else the text names (and no US jurisdiction beside it, for "$"); else the sign's default
    (USD for "$", None for "kr")."""
    family = CONTEXT_CURRENCIES[currency]
    clause = {m.tag for m in tagged.matches if m.kind == "jurisdiction" and start <= m.start < end}
    places = {t for t, (kind, _label, _n) in tagged.tags.items() if kind == "jurisdiction"}
    for named in (clause, places):
        found = {family[p] for p in named if p in family}
        american = any(p == "us" or p.startswith("us-") for p in named)
        if len(found) == 1 and not (currency == "USD" and american):
            return found.pop()
    return "USD" if currency == "USD" else None


def parse_number(text: str, scaled: bool = False) -> float | None:
    """A number written with either convention: "1,2" and "1.2" are 1.2 before a scale word;
    "1,200", "1.200.000" and "1 200" are thousands."""
    text = text.replace("\u202f", " ").strip()
    if " " in text:
        text = text.replace(" ", "")
    last_sep = max(text.rfind(","), text.rfind("."))
    if last_sep < 0:
        return float(text)
    decimals = text[last_sep + 1:]
    separators = {c for c in text if c in ",."}
    if len(separators) == 2 or len(decimals) != 3 or (scaled and text.count(text[last_sep]) == 1):
        whole = re.sub(r"[,.]", "", text[:last_sep])
        return float(f"{whole}.{decimals}")
    return float(re.sub(r"[,.]", "", text))


def _neighbours(bounds: list[tuple[int, int]], at: int) -> tuple[int, int]:
    """(end of the amount before position `at`, start of the one after it) among `bounds`."""
    before = [e for s, e in bounds if s < at]
    after = [s for s, _ in bounds if s > at]
    return (max(before) if before else 0), (min(after) if after else 1 << 62)


# An earlier stage named beside the final one: "down from the £17m it had proposed".
_EARLIER_BEFORE = re.compile(r"(?:down|reduced|cut|lowered|slashed) from (?:an? |the |its )?(?:initial |"
                             r"original |earlier |proposed |provisional |planned |intended |previous )?$",
                             re.IGNORECASE)


def _excluded(text: str, found: re.Match[str], start: int, end: int) -> bool:
    before = text[max(start, found.start() - 30):found.start()]
    after = text[found.end():min(end, found.end() + 30)]
    return bool(_MAXIMUM_BEFORE.search(before) or _NOT_A_FINE_BEFORE.search(before)
                or _NOT_A_FINE_AFTER.search(after))


def _kind(sentence: str) -> str | None:
    for kind, pattern in KINDS:
        if pattern.search(sentence):
            return kind
    return None  # someone pays, but for what the sentence does not say: an acquisition, a salary


def _clause(tagged: Tagged, at: int) -> tuple[int, int]:
    """The sentence around position `at`, cut at semicolons: headlines join two stories with one
    ("UK Regulators' Fines Top $126M; Google CEO Calls For AI Governance")."""
    start, end = tagged.sentence_bounds(at)
    text = tagged.text
    before = text.rfind(";", start, at)
    after = text.find(";", at, end)
    return (before + 1 if before >= 0 else start), (after if after >= 0 else end)


def _tie(tagged: Tagged, kind: str, start: int, end: int, at: int) -> tuple[str | None, bool]:
    """(the tag of this kind nearest the amount in its clause, True), else (the article's only
    tag of this kind, False), else (None, False). A company named before the amount wins over one
    after it: the payer is the subject ("Facebook agreed to pay $5bn to resolve the Cambridge
    Analytica ..."; "the ICO fined Clearview AI £7.5m"); one after it counts only before a comma."""
    near = [m for m in tagged.matches if m.kind == kind and start <= m.start < end]
    if kind == "company":
        near = [m for m in near if not _attributive(tagged.text, m)]
        before = [m for m in near if m.start < at]
        # after the amount only within its phrase: "une amende de 50 millions d'euros à Google",
        # not "... $126 million in fines, Google CEO Sundar Pichai calls for ..."
        near = before or [m for m in near if m.start > at and "," not in tagged.text[at:m.start]]
    if near:
        return min(near, key=lambda m: abs(m.start - at)).tag, True
    whole = [m for m in tagged.matches if m.kind == kind and not (kind == "company" and _attributive(tagged.text, m))]
    if len({m.tag for m in whole}) != 1:
        return None, False
    sentence_start, sentence_end = tagged.sentence_bounds(at)
    if all(sentence_start <= m.start < sentence_end and not start <= m.start < end for m in whole):
        return None, False  # named only in the other clause of this sentence: another story's party
    return whole[0].tag, False


# A company's name before one of these nouns names a thing, not a party: "ordered to delete
# billions of Facebook photos and fined £7.5m" is not Facebook's fine.
_THING_AFTER = re.compile(r"\s+(?:user|users|photos?|images?|pictures?|videos?|data|accounts?|posts?|"
                          r"pages?|profiles?|ads|messages?|content|platform|feeds?|groups?|searches)\b",
                          re.IGNORECASE)


# ... or after these, a party of another role: "a company used by the Metropolitan Police".
_OTHER_ROLE_BEFORE = re.compile(r"(?:used by|deployed by|employed by|sold to|supplied to|customers? such as|"
                                r"clients? such as|customers? including|clients? including)\s+(?:the\s+)?$",
                                re.IGNORECASE)


def _attributive(text: str, match: Match) -> bool:
    """Whether a company match names a thing ("Facebook photos") or a party in another role
    ("used by the Metropolitan Police") rather than one who pays."""
    return bool(_THING_AFTER.match(text, match.end)
                or _OTHER_ROLE_BEFORE.search(text, max(0, match.start - 40), match.start))


def _day(published: str | None) -> date | None:
    if not published or len(published) < 10:
        return None
    try:
        return date.fromisoformat(published[:10])
    except ValueError:
        return None


def as_row(fine: Fine) -> dict[str, Any]:
    """A fine as the `fines` table stores it (without its article id)."""
    return {"amount": fine.amount, "currency": fine.currency, "amount_eur": fine.amount_eur,
            "kind": fine.kind, "regulator": fine.regulator, "company": fine.company, "law": fine.law,
            "evidence": fine.evidence}


__all__ = ["Fine", "FineFinder", "Match", "parse_amount", "parse_number", "as_row"]
