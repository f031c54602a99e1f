"""The enforcement record's database side: rebuild `decisions` and `decision_reports` from the
stored mentions (`fines`) and the analysts' corrections, and record new corrections.

Run at the end of `tracker tag`. Reconciling is cheap (one read of `fines`, a sort per target), but
rewriting the record is not free, so it is rewritten only when what it is built from changed: the
mentions, the corrections, the taxonomy (labels, jurisdictions) or the rules (RECORD_VERSION). A
decision keeps its id while it keeps most of its reports (tracker/lens/decisions.py `number`), so
links to `/db/decision?id=N` and corrections outlive rebuilds.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence

from tracker import store
from tracker.dates import now_iso
from tracker.errors import TrackerError
from tracker.lens.decisions import Correction, Decision, Key, Mention, Names, number, reconcile
from tracker.lens.fines import FineFinder
from tracker.lens.taxonomy import Taxonomy
from tracker.store import decisions as stored

logger = logging.getLogger(__name__)

RECORD_VERSION = "1"  # bump when the reconciliation rules change: the record is rebuilt
STATE_BUILT = "decisions"  # lens key: digest of what the stored record was built from
STATE_NEXT_ID = "decision_next_id"
CORRECTABLE = ("amount", "currency", "kind", "decided")
KINDS = ("fine", "intended fine", "settlement", "damages", "order", "ban", "reprimand")


@dataclass
class RecordSummary:
    mentions: int = 0
    decisions: int = 0
    cases: int = 0
    rebuilt: bool = False


def names_of(taxonomy: Taxonomy) -> Names:
    """Labels and jurisdictions of every taxonomy entry."""
    return Names({e.id: e.name for e in taxonomy.entries},
                 {e.id: e.jurisdiction for e in taxonomy.entries if e.jurisdiction})


def update_record(db: store.Database, taxonomy: Taxonomy, finder: FineFinder | None = None,
                  force: bool = False) -> RecordSummary:
    """Rebuild the record if anything it is built from changed (or `force`)."""
    mentions = [Mention(*row) for row in stored.load_mentions(db)]
    corrections = [_correction(row) for row in stored.load_corrections(db)]
    digest = _digest(mentions, corrections, taxonomy.fingerprint)
    summary = RecordSummary(mentions=len(mentions))
    if not force and stored.load_state(db, STATE_BUILT) == digest:
        summary.decisions = stored.count_decisions(db)
        return summary
    finder = finder or FineFinder()
    names = names_of(taxonomy)
    decisions = reconcile(mentions, names, finder.to_eur, corrections)
    next_id = int(stored.load_state(db, STATE_NEXT_ID) or 1)
    with store.transaction(db):
        next_id = number(decisions, stored.load_report_ids(db), next_id)
        stored.replace_decisions(db, [decision_row(d, names) for d in decisions],
                                 [r for d in decisions for r in report_rows(d)])
        stored.save_state(db, STATE_NEXT_ID, str(next_id))
        stored.save_state(db, STATE_BUILT, digest)
    summary.decisions, summary.rebuilt = len(decisions), True
    summary.cases = len({d.case for d in decisions})
    logger.info("enforcement record: %d mentions -> %d decisions in %d cases", len(mentions),
                summary.decisions, summary.cases)
    return summary


def _digest(mentions: Sequence[Mention], corrections: Sequence[Correction], fingerprint: str) -> str:
    blob = hashlib.sha1(f"{RECORD_VERSION}\x1f{fingerprint}".encode())
    for mention in mentions:
        blob.update(repr(mention).encode("utf-8"))
    blob.update(repr(corrections).encode("utf-8"))
    return blob.hexdigest()


def _correction(row: dict[str, Any]) -> Correction:
    return Correction(row["action"], _key(row["key"]), _key(row["other"]) if row["other"] else None,
                      tuple(_key(k) for k in row["keys"]), row["fields"])


def _key(values: Sequence[Any]) -> Key:
    return (int(values[0]), float(values[1]), str(values[2]))


def decision_row(decision: Decision, names: Names) -> dict[str, Any]:
    """A decision as the `decisions` table stores it."""
    return {"id": decision.id, "case_id": decision.case, "stage": decision.stage, "kind": decision.kind,
            "authority": decision.authority, "authority_label": _label(names, decision.authority),
            "target": decision.target, "target_label": _label(names, decision.target),
            "jurisdiction": decision.jurisdiction, "jurisdiction_label": _label(names, decision.jurisdiction),
            "laws": json.dumps(list(decision.laws)),
            "law_labels": json.dumps([_label(names, law) for law in decision.laws]),
            "amount": decision.amount, "currency": decision.currency, "amount_eur": decision.amount_eur,
            "decided": decision.decided, "reports": len(decision.mentions),
            "articles": len({m.article_id for m in decision.mentions}),
            "counted": int(decision.counted), "corrected": int(decision.corrected)}


def _label(names: Names, tag: str | None) -> str | None:
    return names.labels.get(tag, tag) if tag else None


def report_rows(decision: Decision) -> list[dict[str, Any]]:
    """The decision's mentions as `decision_reports` rows."""
    return [{"decision_id": decision.id, "article_id": m.article_id, "amount": m.key[1],
             "currency": m.key[2], "amount_eur": m.amount_eur, "kind": m.kind, "evidence": m.evidence}
            for m in decision.mentions]


# --- Corrections ---------------------------------------------------------------------------

def _keys_of(db: store.Database, decision_id: int) -> list[Key]:
    keys = [_key(k) for k in stored.load_decision_keys(db, decision_id)]
    if not keys:
        raise TrackerError(f"decision {decision_id}: no such decision (see the decisions table)")
    return keys


def merge_decisions(db: store.Database, kept: int, other: int) -> None:
    """Record that decisions `kept` and `other` are one."""
    if kept == other:
        raise TrackerError(f"decision {kept}: cannot merge a decision with itself")
    first, second = _keys_of(db, kept)[0], _keys_of(db, other)[0]
    with store.transaction(db):
        stored.save_correction(db, "merge", first, now_iso(), other=second)


def split_decision(db: store.Database, decision_id: int, article_id: int) -> None:
    """Record that what article `article_id` reports is a decision of its own, not `decision_id`."""
    keys = [k for k in _keys_of(db, decision_id) if k[0] == article_id]
    if not keys:
        raise TrackerError(f"decision {decision_id}: article {article_id} does not report it")
    if len(keys) == len(_keys_of(db, decision_id)):
        raise TrackerError(f"decision {decision_id}: article {article_id} is its only report; nothing to split")
    with store.transaction(db):
        stored.save_correction(db, "split", keys[0], now_iso(), keys=keys)


def correct_decision(db: store.Database, decision_id: int, fields: dict[str, str]) -> None:
    """Record a decision's right amount (with currency), kind or date."""
    unknown = set(fields) - set(CORRECTABLE)
    if unknown or not fields:
        raise TrackerError(f"decision {decision_id}: can correct {', '.join(CORRECTABLE)}, not {sorted(unknown)}")
    _check_fields(decision_id, fields)
    key = _keys_of(db, decision_id)[0]
    with store.transaction(db):
        stored.save_correction(db, "correct", key, now_iso(), fields=fields)


def _check_fields(decision_id: int, fields: dict[str, str]) -> None:
    if "kind" in fields and fields["kind"] not in KINDS:
        raise TrackerError(f"decision {decision_id}: kind {fields['kind']!r}: choose one of {', '.join(KINDS)}")
    if "amount" in fields:
        try:
            if float(fields["amount"]) <= 0:
                raise ValueError
        except ValueError as exc:
            raise TrackerError(f"decision {decision_id}: amount {fields['amount']!r} is not a positive number") from exc
    if "currency" in fields and not (len(fields["currency"]) == 3 and fields["currency"].isalpha()):
        raise TrackerError(f"decision {decision_id}: currency {fields['currency']!r}: an ISO code such as GBP")
    if "decided" in fields:
        try:
            date.fromisoformat(fields["decided"])
        except ValueError as exc:
            raise TrackerError(f"decision {decision_id}: date {fields['decided']!r}: expected YYYY-MM-DD") from exc
