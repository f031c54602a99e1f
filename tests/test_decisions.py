"""The enforcement record: mentions reconciled into decisions, cases and stages, corrections,
the `tracker tag` stage's record, `tracker export enforcement` and the Datasette pages. Sentences
are written here, not copied from articles."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_lens import add_article, stored
from tracker.cli import main
from tracker.lens.decisions import Correction, Mention, Names, number, reconcile, significant_digits
from tracker.lens.tag_stage import tag_articles
from tracker.store import open_db

RATES = {"EUR": 1.0, "GBP": 1.18, "USD": 0.94}  # fixed rates: the rules, not the ECB series, under test
NAMES = Names({"ico": "ICO", "cnil": "CNIL", "hdpa-gr": "HDPA", "clearview-ai": "Clearview AI", "meta": "Meta"},
              {"ico": "gb", "cnil": "fr", "hdpa-gr": "gr", "bipa": "us-il"})


def to_eur(amount: float, currency: str, on: date | None) -> float | None:
    return round(amount * RATES[currency], 2) if currency in RATES else None


def mention(article: int, amount: float, currency: str, kind: str = "fine", regulator: str | None = "ico",
            company: str | None = "clearview-ai", published: str = "2022-05-23", law: str | None = None) -> Mention:
    return Mention(article, amount, currency, to_eur(amount, currency, None), kind, regulator, company, law,
                   published, f"sentence of article {article}")


def numbered(mentions: list[Mention], corrections: tuple[Correction, ...] = ()) -> list[Any]:
    decisions = reconcile(mentions, NAMES, to_eur, corrections)
    number(decisions, {}, 1)
    return sorted(decisions, key=lambda d: (d.decided or "", d.id))


def test_roundings_and_conversions_of_one_fine_are_one_decision_and_the_intended_fine_its_stage() -> None:
    mentions = [mention(1, 7_500_000, "GBP"), mention(2, 7_552_800, "GBP"), mention(3, 7_552_880, "GBP"),
                mention(4, 7_552_800, "GBP", regulator=None), mention(5, 9_400_000, "USD"),
                mention(6, 10_000_000, "USD"), mention(7, 8_750_000, "EUR"),
                mention(8, 17_000_000, "GBP", kind="intended fine", published="2021-11-29"),
                mention(9, 17_000_000, "GBP", kind="fine", published="2022-05-23")]
    intended, final = numbered(mentions)
    assert (final.amount, final.currency, final.kind, final.authority) == (7_552_800, "GBP", "fine", "ico")
    assert {m.article_id for m in final.mentions} == {1, 2, 3, 4, 5, 6, 7}
    assert final.amount_eur == round(7_552_800 * 1.18, 2) and final.jurisdiction == "gb"
    # the £17m is the intended stage (one article calling it a fine does not outvote its date)
    assert (intended.amount, intended.decided, intended.stage, final.stage) == (17_000_000, "2021-11-29", 1, 2)
    assert intended.case == final.case == intended.id
    assert (intended.counted, final.counted) == (False, True)


def test_one_amount_from_two_authorities_is_two_decisions_and_an_unnamed_one_joins_the_nearest() -> None:
    mentions = [mention(1, 20_000_000, "EUR", regulator="hdpa-gr", published="2022-07-13"),
                mention(2, 20_000_000, "EUR", regulator="cnil", published="2022-10-20"),
                mention(3, 20_000_000, "EUR", regulator=None, published="2022-10-21")]
    greek, french = numbered(mentions)
    assert (greek.authority, [m.article_id for m in greek.mentions]) == ("hdpa-gr", [1])
    assert (french.authority, [m.article_id for m in french.mentions]) == ("cnil", [2, 3])
    assert greek.case != french.case and greek.counted and french.counted


def test_totals_and_mentions_naming_no_one_are_no_decision_and_an_authoritys_untargeted_report_joins() -> None:
    mentions = [mention(1, 126_000_000, "USD", kind="total", company=None),
                mention(2, 50_000_000, "USD", regulator=None, company=None),
                mention(3, 7_500_000, "GBP"), mention(4, 7_500_000, "GBP", company=None)]
    [decision] = numbered(mentions)
    assert sorted(m.article_id for m in decision.mentions) == [3, 4]


def test_a_settlement_raised_after_rejection_is_a_later_stage_and_replaces_it_in_totals() -> None:
    settle = {"kind": "settlement", "regulator": None, "company": "meta", "law": "bipa"}
    mentions = [mention(1, 550_000_000, "USD", published="2020-07-18", **settle),
                mention(2, 650_000_000, "USD", published="2020-07-23", **settle),
                mention(3, 5_000_000_000, "USD", published="2019-07-24", kind="settlement", regulator=None,
                        company="meta")]
    old, first, second = numbered(mentions)
    assert (old.amount, first.amount, second.amount) == (5e9, 5.5e8, 6.5e8)
    assert first.case == second.case != old.case and (first.stage, second.stage) == (1, 2)
    assert (old.counted, first.counted, second.counted) == (True, False, True)
    assert second.jurisdiction == "us-il" and second.currency == "USD"


def test_corrections_split_merge_and_correct_hold_on_a_rebuild() -> None:
    mentions = [mention(1, 7_500_000, "GBP"), mention(2, 7_500_000, "GBP"), mention(3, 8_000_000, "GBP")]
    assert len(numbered(mentions)) == 1  # £8m is within rounding of £7.5m
    split = Correction("split", (3, 8_000_000.0, "GBP"), keys=((3, 8_000_000.0, "GBP"),))
    assert [len(d.mentions) for d in numbered(mentions, (split,))] == [2, 1]
    merge = Correction("merge", (1, 7_500_000.0, "GBP"), other=(3, 8_000_000.0, "GBP"))
    correct = Correction("correct", (3, 8_000_000.0, "GBP"), fields={"amount": "7552800", "kind": "intended fine"})
    [one] = numbered(mentions, (split, merge, correct))
    assert (one.amount, one.currency, one.kind, one.corrected) == (7_552_800, "GBP", "intended fine", True)


def test_ids_stay_with_most_of_their_reports() -> None:
    first = reconcile([mention(1, 7_500_000, "GBP"), mention(2, 20_000_000, "EUR", regulator="cnil")], NAMES, to_eur)
    number(first, {}, 1)
    previous = {m.key: d.id for d in first for m in d.mentions}
    second = reconcile([mention(0, 1_000_000, "EUR", regulator="cnil"), mention(2, 20_000_000, "EUR", regulator="cnil"),
                        mention(1, 7_500_000, "GBP"), mention(5, 7_500_000, "GBP")], NAMES, to_eur)
    assert number(second, previous, 3) == 4
    assert {d.amount: d.id for d in second} == {7_500_000: previous[(1, 7_500_000.0, "GBP")],
                                                20_000_000: previous[(2, 20_000_000.0, "EUR")], 1_000_000: 3}


def test_significant_digits() -> None:
    assert [significant_digits(a) for a in (7_500_000, 7_552_800, 35_258_707.95, 1e9)] == [2, 5, 10, 1]


@pytest.fixture
def record_db(tmp_path: Path) -> Path:
    """A database of invented reports of one ICO case, tagged with the shipped taxonomy."""
    db_path = tmp_path / "record.db"
    db = open_db(db_path)
    db.conn.execute("INSERT INTO clusters (id, headline, first_seen, last_seen, n_articles, n_publishers) VALUES "
                    "(1, 'ICO fines Clearview', '2022-05-23T00:00:00Z', '2022-05-24T00:00:00Z', 2, 2), "
                    "(2, 'ICO plans Clearview fine', '2021-11-29T00:00:00Z', '2021-11-29T00:00:00Z', 1, 1)")
    add_article(db, "https://a.example/final", "The ICO fined Clearview AI £7.5m over scraped images of UK residents")
    add_article(db, "https://b.example/final", "Clearview AI hit with £7,552,800 data protection fine by the ICO",
                published="2022-05-24T00:00:00Z")
    add_article(db, "https://c.example/intent", "The ICO intends to fine Clearview AI £17m for data failings",
                published="2021-11-29T00:00:00Z")
    add_article(db, "https://d.example/total", "UK data protection fines top £40m this year")
    db.conn.execute("UPDATE articles SET cluster_id = CASE WHEN id = 3 THEN 2 ELSE 1 END")
    summary = tag_articles(db)
    assert summary.record_rebuilt and summary.decisions == 2
    db.close()
    return db_path


def test_the_tag_stage_builds_the_record_and_rebuilds_it_only_when_its_mentions_change(record_db: Path) -> None:
    db = open_db(record_db)
    rows = stored(db, "SELECT id, case_id, stage, kind, authority, target, jurisdiction, amount, currency, "
                      "decided, reports, counted FROM decisions ORDER BY decided")
    assert rows == [(2, 2, 1, "intended fine", "ico", "clearview-ai", "gb", 17_000_000.0, "GBP", "2021-11-29", 1, 0),
                    (1, 2, 2, "fine", "ico", "clearview-ai", "gb", 7_552_800.0, "GBP", "2022-05-23", 2, 1)]
    assert stored(db, "SELECT decision_id, article_id, amount FROM decision_reports ORDER BY article_id") == [
        (1, 1, 7_500_000.0), (1, 2, 7_552_800.0), (2, 3, 17_000_000.0)]
    again = tag_articles(db)
    assert (again.record_rebuilt, again.decisions) == (False, 2)
    db.conn.execute("UPDATE articles SET title = 'The ICO fined Clearview AI £7.5m (about $9.4m)', "
                    "updated_at = '2100-01-01T00:00:00Z' WHERE id = 1")
    third = tag_articles(db)
    assert third.record_rebuilt and third.decisions == 2
    assert stored(db, "SELECT id, reports FROM decisions WHERE kind = 'fine'") == [(1, 3)]  # same id, one more report


def test_corrections_from_the_command_line_outlive_a_retag(record_db: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["decisions", "correct", "1", "--amount", "7552801", "--db", str(record_db)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["decisions", "split", "1", "2", "--db", str(record_db)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["decisions", "correct", "1", "--kind", "fined", "--db", str(record_db)])
    assert result.exit_code == 1 and "kind 'fined'" in result.stderr
    result = runner.invoke(main, ["decisions", "merge", "1", "99", "--db", str(record_db)])
    assert result.exit_code == 1 and "decision 99: no such decision" in result.stderr
    result = runner.invoke(main, ["tag", "--rebuild", "--db", str(record_db)])
    assert result.exit_code == 0 and "3 decisions (record rebuilt)" in result.stdout
    db = open_db(record_db)
    assert stored(db, "SELECT id, amount, corrected, reports FROM decisions WHERE kind = 'fine' ORDER BY id") == [
        (1, 7_552_801.0, 1, 1), (3, 7_552_800.0, 0, 1)]
    result = runner.invoke(main, ["decisions", "merge", "1", "3", "--db", str(record_db)])
    assert result.exit_code == 0 and "2 decisions" in result.stdout


def test_export_enforcement_has_the_cms_columns_and_filters(record_db: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["export", "enforcement", "--db", str(record_db)]).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:10] == ["id", "country", "authority", "date_of_decision", "fine", "organisation",
                                  "sector", "articles_of_the_law", "type", "source"]
    assert {"kind", "case", "stage", "stories", "articles", "amount_eur"} <= set(rows[0])
    assert [(r["date_of_decision"], r["type"], r["organisation"], r["stage"]) for r in rows] == [
        ("2021-11-29", "Intended fine", "Clearview AI", "1"), ("2022-05-23", "Fine", "Clearview AI", "2")]
    assert rows[1]["articles"] == "1; 2" and rows[1]["source"] == "https://a.example/final"
    lines = runner.invoke(main, ["export", "enforcement", "--format", "jsonl", "--since", "2022-01-01",
                                 "--db", str(record_db)]).stdout.splitlines()
    [final] = [json.loads(line) for line in lines]
    assert (final["stories"], final["articles"], final["country"]) == ([1], [1, 2], "United Kingdom")
    story = runner.invoke(main, ["export", "enforcement", "--story", "2", "--db", str(record_db)]).stdout
    assert [r["amount"] for r in csv.DictReader(io.StringIO(story))] == ["17000000.0"]
    found = runner.invoke(main, ["export", "enforcement", "--search", "7,552,800", "--db", str(record_db)]).stdout
    assert [r["id"] for r in csv.DictReader(io.StringIO(found))] == ["1"]


def test_datasette_pages_count_decisions(record_db: Path, tmp_path: Path) -> None:
    from tests.test_serve import get, get_json, serving

    with serving(record_db, tmp_path / "serve.log") as base:
        by_authority = get_json(base, "/record/fines_by_regulator.json", _shape="array", kind="")
        assert [(r["authority_id"], r["decisions"], r["reports"]) for r in by_authority] == [("ico", 1, 2)]
        assert by_authority[0]["total_eur"] == pytest.approx(8.9e6, rel=0.05)  # the final fine only
        case = get_json(base, "/record/decision.json", _shape="array", id="1")
        assert [(r["stage"], r["article_id"], r["reported_amount"]) for r in case] == [
            (1, 3, 17_000_000), (2, 1, 7_500_000), (2, 2, 7_552_800)]
        timeline = get_json(base, "/record/company_record.json", _shape="array", company="clearview-ai")
        assert [(r["date"], r["entry"]) for r in timeline] == [
            ("2021-11-29", "decision"), ("2021-11-29", "story"), ("2022-05-23", "decision"), ("2022-05-23", "story")]
        timeline = get_json(base, "/record/authority_record.json", _shape="array", authority="ico")
        assert [r["entry"] for r in timeline].count("decision") == 2
        reports = get_json(base, "/record/enforcement.json", _shape="array", _sort="article_id")
        assert [(r["article_id"], r["decision_id"]) for r in reports] == [(1, 1), (2, 1), (3, 2), (4, None)]
        status, html = get(base, "/record/decisions")
        assert status == 200 and "/record/decision?id=2" in html  # case_id links to the case
        status, _ = get(base, "/-/dashboards/enforcement")
        assert status == 200


# --- The fine finder on sentences of the kinds real coverage has (written here) ---------------

@pytest.fixture(scope="module")
def shipped() -> Any:
    from tracker.lens.fines import FineFinder
    from tracker.lens.matcher import Matcher
    from tracker.lens.taxonomy import load_taxonomy

    return Matcher(load_taxonomy()), FineFinder()


@pytest.mark.parametrize("text, expected", [
    ("Australia's Federal Court ordered the company to pay $5.8 million in penalties for breaching privacy law.",
     [(5_800_000, "AUD", "fine")]),
    ("The US regulator fined the firm $5.8 million over the breach.", [(5_800_000, "USD", "fine")]),
    ("Brazil's data protection authority fined the telecom R$ 14,4 mil for the breach.", [(14_400, "BRL", "fine")]),
    ("Norway's data protection authority intends to fine the app maker 100 000 000 kr over data sharing.",
     [(100_000_000, "NOK", "intended fine")]),
    ("The company was fined 500 000 kr for the breach.", []),  # which crown: no Nordic country named
    ("The company was fined $5 mil for the breach.", [(5_000_000, "USD", "fine")]),
    ("The Spanish regulator imposed a fine of 35.258.707,95 € on the bank.", [(35_258_707.95, "EUR", "fine")]),
    ("Analysts expect a fine of $3-5 billion for the company.", [(5_000_000_000, "USD", "estimate")]),
    ("The regulator proposed a $23m fine for the app maker.", [(23_000_000, "USD", "intended fine")]),
    ("The state asks the court to fine the company $25,000 for each violation.", []),
    ("The watchdog can impose a penalty of €50,000 a day until the app complies.", []),
    ("The ICO fined Clearview AI £7.5m, down from the £17m it had provisionally proposed.",
     [(7_500_000, "GBP", "fine"), (17_000_000, "GBP", "intended fine")]),
    ("The ICO fined the firm £7.5m, reduced from an initial £17m.",
     [(7_500_000, "GBP", "fine"), (17_000_000, "GBP", "intended fine")]),
])
def test_amounts_in_real_kinds_of_sentences(shipped: Any, text: str, expected: list[tuple[float, str, str]]) -> None:
    matcher, finder = shipped
    assert [(f.amount, f.currency, f.kind) for f in finder.find(matcher.tag(text), "2023-05-01")] == expected


@pytest.mark.parametrize("text, company", [
    ("A face search firm used by the Metropolitan Police has been fined £7.5m after breaking data law.", None),
    ("The firm was ordered to delete millions of Facebook photos and fined £7.5m.", None),
    ("Clearview AI was fined £7.5m; Facebook settled its own suit earlier.", "clearview-ai"),
])
def test_a_company_named_as_a_thing_or_in_another_role_does_not_pay(shipped: Any, text: str,
                                                                    company: str | None) -> None:
    matcher, finder = shipped
    [fine] = finder.find(matcher.tag(text), "2022-05-23")
    assert fine.company == company


@pytest.mark.parametrize("text, law", [
    ("Facebook settled a suit under Illinois's biometric privacy law.", "bipa"),
    ("The suit says the app broke Illinois' facial recognition laws.", "bipa"),
    ("Lawmakers debated the EU's proposed rules on artificial intelligence.", "eu-ai-act"),
])
def test_laws_named_by_description(shipped: Any, text: str, law: str) -> None:
    matcher, _ = shipped
    assert law in matcher.tag(text).tags


@pytest.mark.parametrize("text, expected", [
    ("The FTC bans Rite Aid from using facial recognition for five years.", [("ban", "ftc", "rite-aid")]),
    ("Rite Aid was banned from using facial recognition, the FTC said.", [("ban", "ftc", "rite-aid")]),
    ("Clearview AI has been fined £7.5m and ordered to delete data of UK residents by the ICO.",
     [("order", "ico", "clearview-ai")]),
    ("The UK data watchdog issues Snapchat an enforcement notice over its chatbot.", [("order", "ico", "snap")]),
    ("Microsoft disagrees with the European Commission's proposed facial recognition ban.", []),
    ("Rights groups urged the FTC to ban Rite Aid from using facial recognition.", []),
])
def test_orders_bans_and_reprimands_given_to_a_company(shipped: Any, text: str,
                                                        expected: list[tuple[str, str, str]]) -> None:
    from tracker.lens.fines import find_orders

    matcher, _ = shipped
    assert [(o.kind, o.regulator, o.company) for o in find_orders(matcher.tag(text))] == expected


def test_an_order_is_a_stage_of_its_case_and_one_months_later_another_decision() -> None:
    order = {"kind": "order", "regulator": "cnil", "company": "clearview-ai"}
    mentions = [Mention(1, 0.0, "", None, published="2021-12-16", law=None, evidence="", **order),
                Mention(2, 0.0, "", None, published="2021-12-17", law=None, evidence="", **order),
                Mention(3, 0.0, "", None, published="2022-06-01", law=None, evidence="", **order),
                mention(4, 20_000_000, "EUR", regulator="cnil", published="2022-10-20")]
    first, second, fine = numbered(mentions)
    assert (first.kind, len(first.mentions), first.amount) == ("order", 2, None)
    assert (second.kind, fine.kind) == ("order", "fine")
    assert first.case == second.case == fine.case and [d.stage for d in (first, second, fine)] == [1, 2, 3]
    assert first.mentions[0].key == (1, 0.0, "order/cnil/clearview-ai")
