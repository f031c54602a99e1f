"""The lens: taxonomy validation, matching rules, fines, relevance and the `tracker tag` stage, on
small taxonomies written here (the shipped taxonomy has its own tests in test_lens_taxonomy.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker.cli import main
from tracker.store import Database, open_db
from tracker.store.articles import apply_meta
from tracker.errors import TaxonomyError
from tracker.lens.fines import AMOUNT, FineFinder, parse_amount, parse_number
from tracker.lens.matcher import Matcher, Tagged, required_literals
from tracker.lens.relevance import score
from tracker.lens.tag_stage import tag_articles
from tracker.lens.taxonomy import check_taxonomy, load_taxonomy

FILES = {
    "regulators.yml": r"""
        kind: regulator
        entries:
          - id: ico
            name: Information Commissioner's Office (UK)
            jurisdiction: gb
            aliases:
              - Information Commissioner's Office
              - text: ICO
                case: exact
                context: [privacy, data, fine, watchdog, regulator, commissioner, GDPR, breach]
                not_context: [coin, token, crypto, initial coin offering]
            descriptions:
              - "\\b(UK|Britain's|British|UK's) (data|privacy|information) (protection )?(watchdog|regulator)\\b"
          - id: garante
            name: Garante per la protezione dei dati personali (Italy)
            jurisdiction: it
            aliases:
              - Garante per la protezione dei dati personali
              - Garante per la privacy
              - text: Garante
                case: exact
            descriptions:
              - "\\b(Italy's|Italian) data[- ]protection (authority|agency|watchdog)\\b"
    """,
    "laws.yml": r"""
        kind: law
        entries:
          - id: gdpr
            name: General Data Protection Regulation (GDPR)
            jurisdiction: eu
            articles: true
            aliases:
              - {text: GDPR, case: exact}
              - General Data Protection Regulation
              - {text: DSGVO, case: exact}
              - Datenschutz-Grundverordnung
              - {text: RGPD, case: exact}
          - id: bipa
            name: Biometric Information Privacy Act (Illinois)
            jurisdiction: us-il
            aliases: [Biometric Information Privacy Act, {text: BIPA, case: exact}]
            descriptions:
              - "\\bIllinois'?s? biometric (information )?privacy (law|act)\\b"
          - id: ai-act
            name: AI Act (EU)
            jurisdiction: eu
            aliases: [AI Act]
    """,
    "actions.yml": r"""
        kind: action
        entries:
          - id: fine
            name: Fine
            aliases: [fined, fines, {text: fine, context: [regulator, watchdog, GDPR, million, data]}]
          - id: settlement
            name: Settlement
            aliases: [settlement, settle, settled]
    """,
    "companies.yml": r"""
        kind: company
        entries:
          - id: meta
            name: Meta
            aliases:
              - Meta Platforms
              - {text: Meta, case: exact, not_context: [description, tag, tags]}
          - id: clearview-ai
            name: Clearview AI
            aliases: [Clearview AI, Clearview]
    """,
    "technologies.yml": r"""
        kind: technology
        entries:
          - id: facial-recognition
            name: Facial recognition
            aliases: [facial recognition, face recognition]
          - id: ai
            name: Artificial intelligence
            aliases: [artificial intelligence, {text: AI, case: exact}]
    """,
    "jurisdictions.yml": r"""
        kind: jurisdiction
        entries:
          - {id: gb, name: United Kingdom, aliases: [United Kingdom, {text: UK, case: exact}]}
          - {id: it, name: Italy, aliases: [Italy, Italia]}
          - {id: eu, name: European Union, aliases: [European Union, {text: EU, case: exact}]}
          - {id: us-il, name: Illinois, aliases: [Illinois]}
          - {id: pr, name: Puerto Rico, aliases: [Puerto Rico]}
          - {id: no, name: Norway, aliases: [Norway]}
    """,
}


def write_taxonomy(folder: Path, **changes: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**FILES, **changes}.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return folder


@pytest.fixture
def taxonomy_dir(tmp_path: Path) -> Path:
    return write_taxonomy(tmp_path / "taxonomy")


@pytest.fixture
def matcher(taxonomy_dir: Path) -> Matcher:
    return Matcher(load_taxonomy(taxonomy_dir))


def tags(matcher: Matcher, text: str) -> set[str]:
    return set(matcher.tag(text).tags)


# --- Taxonomy validation -----------------------------------------------------------------------

def test_a_good_taxonomy_loads_with_a_stable_fingerprint(taxonomy_dir: Path, tmp_path: Path) -> None:
    first = load_taxonomy(taxonomy_dir)
    assert len(first.entries) == 17 and first.by_id["no"].name == "Norway"  # `no` stays text
    assert check_taxonomy(taxonomy_dir) == (17, [])
    assert load_taxonomy(write_taxonomy(tmp_path / "copy")).fingerprint == first.fingerprint
    changed = FILES["actions.yml"].replace("[settlement, settle, settled]", "[settlement, settle]")
    other = load_taxonomy(write_taxonomy(tmp_path / "other", **{"actions.yml": changed}))
    assert other.fingerprint != first.fingerprint


@pytest.mark.parametrize("file, old, new, expected", [
    ("laws.yml", "id: bipa", "id: gdpr", r"laws.yml:13: duplicate id 'gdpr' \(first at .*laws.yml:3\)"),
    ("companies.yml", "[Clearview AI, Clearview]", "[Clearview AI, Clearview, Meta Platforms]",
     r"companies.yml:8: clearview-ai: alias 'Meta Platforms' is also claimed by 'meta'"),
    ("laws.yml", "aliases: [AI Act]", "aliases: [AI Act", r"laws.yml:2\d: broken YAML: "),
    ("actions.yml", "kind: action", "kind: penalty", r"actions.yml:1: unknown kind 'penalty'"),
    ("regulators.yml", "(watchdog|regulator)", "(watchdog|regulator", r"regulators.yml:13: ico: bad regex"),
    ("technologies.yml", "name: Facial recognition", "name: Facial recognition\n            colour: red",
     r"technologies.yml:5: unknown field 'colour'"),
    ("laws.yml", "jurisdiction: us-il", "jurisdiction: us-xx",
     r"laws.yml:13: bipa: jurisdiction 'us-xx' is not the id of a jurisdiction entry"),
    ("technologies.yml", "name: Facial recognition", "name: Facial recognition\n            weight: heavy",
     r"technologies.yml:5: facial-recognition: weight must be a number from 0 to 1"),
])
def test_a_bad_taxonomy_gives_one_line_per_problem(tmp_path: Path, file: str, old: str, new: str,
                                                   expected: str) -> None:
    assert old in FILES[file]
    folder = write_taxonomy(tmp_path / "bad", **{file: FILES[file].replace(old, new)})
    _, problems = check_taxonomy(folder)
    assert len(problems) == 1, problems
    assert re.search(expected, problems[0]), problems[0]
    with pytest.raises(TaxonomyError, match=expected):
        load_taxonomy(folder)


def test_an_alias_two_entries_need_is_allowed_when_both_give_context(tmp_path: Path) -> None:
    shared = FILES["companies.yml"].rstrip() + (
        "\n          - {id: meta-ai, name: Meta AI, aliases: [{text: Meta, case: exact, context: [model]}]}\n")
    _, problems = check_taxonomy(write_taxonomy(tmp_path / "a", **{"companies.yml": shared}))
    assert len(problems) == 1 and "alias 'Meta' is also claimed by 'meta'" in problems[0]
    both = shared.replace("not_context: [description, tag, tags]", "context: [Facebook, Instagram]")
    assert check_taxonomy(write_taxonomy(tmp_path / "b", **{"companies.yml": both}))[1] == []


def test_taxonomy_check_command(runner: CliRunner, taxonomy_dir: Path, tmp_path: Path) -> None:
    good = runner.invoke(main, ["taxonomy", "check", str(taxonomy_dir)])
    assert good.exit_code == 0 and "17 entries, 0 problems" in good.output
    bad = write_taxonomy(tmp_path / "bad", **{"laws.yml": FILES["laws.yml"].replace("id: bipa", "id: gdpr")})
    result = runner.invoke(main, ["taxonomy", "check", str(bad)])
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if "duplicate id 'gdpr'" in line] != []


# --- Matching ----------------------------------------------------------------------------------

def test_ico_the_regulator_not_a_coin_offering_nor_puerto_rico(matcher: Matcher) -> None:
    assert tags(matcher, "The ICO fined the retailer after a data breach.") == {"ico", "gb", "fine"}
    assert tags(matcher, "The startup's ICO raised $20m in tokens.") == set()
    assert tags(matcher, "ICO: an initial coin offering that regulators call a data risk.") == set()
    assert tags(matcher, "Hurricane season in Puerto Rico") == {"pr"}
    assert tags(matcher, "the ico said data") == set()  # acronyms in capitals only


def test_the_act_alone_tags_nothing(matcher: Matcher) -> None:
    assert tags(matcher, "The Act was passed on Tuesday and the act comes into force in May.") == set()
    assert tags(matcher, "The EU's AI Act was passed.") == {"ai-act", "eu"}


def test_garante_in_italian_coverage(matcher: Matcher) -> None:
    text = "Il Garante per la privacy ha sanzionato la società. Il Garante ha chiesto chiarimenti."
    result = matcher.tag(text)
    assert set(result.tags) == {"garante", "it"} and result.tags["garante"][2] == 2
    assert tags(matcher, "He was the garante of the deal") == set()


def test_meta_the_company_not_a_meta_description(matcher: Matcher) -> None:
    assert tags(matcher, "Meta was fined by the regulator.") >= {"meta", "fine"}
    assert "meta" not in tags(matcher, "Write a good Meta description for every page.")
    assert "meta" not in tags(matcher, "The metadata and metaverse plans")


def test_a_law_named_in_another_language(matcher: Matcher) -> None:
    assert tags(matcher, "Verstoß gegen die DSGVO") == {"gdpr", "eu"}
    assert tags(matcher, "Nach der Datenschutz-Grundverordnung") == {"gdpr", "eu"}
    assert tags(matcher, "une violation du RGPD") == {"gdpr", "eu"}


def test_descriptions_name_regulators_and_laws(matcher: Matcher) -> None:
    assert tags(matcher, "The UK\u2019s privacy watchdog said so.") == {"ico", "gb"}
    assert tags(matcher, "Italy's data protection authority blocked the chatbot.") == {"garante", "it"}
    assert tags(matcher, "A suit under Illinois' biometric privacy law") == {"bipa", "us-il"}
    assert tags(matcher, "A UK watchdog for horses") == {"gb"}


def test_law_articles_and_overlaps(matcher: Matcher) -> None:
    for text in ("a request under Article 17 GDPR", "GDPR Article 17 says", "Art. 17 of the GDPR"):
        result = matcher.tag(text)
        assert result.tags["gdpr-art-17"] == ["law", "GDPR Article 17", 1], text
    assert "gdpr-art-17" not in tags(matcher, "17 firms and the GDPR")
    assert tags(matcher, "Clearview AI") == {"clearview-ai"}  # not also "AI" the technology


def test_descriptions_run_only_on_their_trigger_words(taxonomy_dir: Path) -> None:
    assert required_literals(r"\b(UK|Britain's) (data|privacy) (protection )?(watchdog|regulator)\b") \
        == [{"watchdog", "regulator"}, {"data", "privacy"}]
    assert required_literals(r"\b(a|b)?\d+\b") == []  # nothing certain: always run
    matcher = Matcher(load_taxonomy(taxonomy_dir))
    text = "The UK's privacy watchdog"
    assert [m.tag for m in matcher.tag(text).matches] == ["ico"]
    assert [m.tag for m in matcher.tag("The UK's watchdog").matches] == ["gb"]  # "privacy" missing


# --- Fines -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, amount, currency", [
    ("£7.5m", 7_500_000, "GBP"), ("€1.2bn", 1_200_000_000, "EUR"), ("$5 million", 5_000_000, "USD"),
    ("USD 650 million", 650_000_000, "USD"), ("20 millions d'euros", 20_000_000, "EUR"),
    ("1,2 Mio. Euro", 1_200_000, "EUR"), ("$5.1bn", 5_100_000_000, "USD"), ("€20,000", 20_000, "EUR"),
    ("1.200.000 Euro", 1_200_000, "EUR"), ("US$1.2 billion", 1_200_000_000, "USD"),
    ("50 000 euros", 50_000, "EUR"), ("2,5 Mrd. Euro", 2_500_000_000, "EUR"),
])
def test_amounts_and_scale_words(text: str, amount: float, currency: str) -> None:
    found = AMOUNT.search(f"fined {text} today")
    assert found is not None and parse_amount(found) == (amount, currency)


def test_numbers_in_either_convention() -> None:
    assert parse_number("1,200") == 1200 and parse_number("1.200.000") == 1_200_000
    assert parse_number("1,2", scaled=True) == 1.2 and parse_number("7.5") == 7.5


def test_fines_tied_to_regulator_company_and_law_in_eur(matcher: Matcher) -> None:
    finder = FineFinder()
    text = ("Clearview AI fined £7.5m. The Information Commissioner's Office fined Clearview AI £7.5m "
            "under the GDPR for scraping faces.")
    fines = finder.find(matcher.tag(text), "2022-05-23T10:00:00Z")
    assert len(fines) == 1  # the same amount twice is one fine
    fine = fines[0]
    assert (fine.amount, fine.currency, fine.kind) == (7_500_000, "GBP", "fine")
    assert (fine.regulator, fine.company, fine.law) == ("ico", "clearview-ai", "gdpr")
    expected = 7_500_000 * finder._converter.convert(1, "GBP", "EUR", date=date(2022, 5, 23))
    assert fine.amount_eur == pytest.approx(expected, rel=1e-6) and 8_000_000 < fine.amount_eur < 9_500_000
    assert "Information Commissioner's Office" in fine.evidence


@pytest.mark.parametrize("text, kind", [
    ("The ICO said it intends to fine the firm £17m over the data breach.", "intended fine"),
    ("Meta agreed to pay $650 million to settle the BIPA class action.", "settlement"),
    ("A court ordered Meta to pay €5,000 in damages to a user.", "damages"),
    ("La CNIL a infligé une amende de 50 millions d'euros à Google.", "fine"),
])
def test_kinds_of_amounts(matcher: Matcher, text: str, kind: str) -> None:
    fines = FineFinder().find(matcher.tag(text), "2021-01-01")
    assert [f.kind for f in fines] == [kind]


@pytest.mark.parametrize("text", [
    "Facial recognition startup raises $3 million in funding.",
    "Apple paid $200 million for Xnor.ai.",
    "Firms face fines of up to €20 million under the GDPR.",
    "The company, with $5bn in revenue, said nothing.",
])
def test_money_that_is_not_a_fine(matcher: Matcher, text: str) -> None:
    assert FineFinder().find(matcher.tag(text), "2020-01-15") == []


def test_eur_after_the_bundled_series_ends() -> None:
    assert FineFinder().to_eur(100, "USD", date(2031, 1, 1)) is not None
    assert FineFinder().to_eur(100, "XYZ", None) is None


# --- Relevance ---------------------------------------------------------------------------------

def test_enforcement_scores_high_tech_news_low(matcher: Matcher) -> None:
    enforcement = matcher.tag("The ICO fined Clearview AI £7.5m under the GDPR.")
    tech = matcher.tag("Meta launches a new AI model for facial recognition in Italy.")
    assert score(enforcement.tags, 1) >= 0.9
    assert score(tech.tags) <= 0.2
    assert score({}) == 0.0
    # an entry's weight scales its kind: a lighter regulator lifts an article less than a DPA
    regulator = {"ico": ["regulator", "ICO", 1]}
    assert score(regulator, 0, {"ico": 0.5}) == pytest.approx(score(regulator) - 0.2)
    assert score(regulator, 0, {"other": 0.5}) == score(regulator)
    both = {**regulator, "sec": ["regulator", "SEC", 1]}
    assert score(both, 0, {"sec": 0.5}) == score({"ico": ["regulator", "ICO", 1], "x": ["regulator", "X", 1]})


# --- The stage ---------------------------------------------------------------------------------

def add_article(db: Database, url: str, title: str, excerpt: str = "", published: str = "2022-05-23T00:00:00Z") -> int:
    now = "2022-05-23T00:00:00Z"
    cursor = db.conn.execute("INSERT INTO articles (url, title, excerpt, published, status, first_seen, "
                             "updated_at) VALUES (?, ?, ?, ?, 'new', ?, ?)", [url, title, excerpt, published, now, now])
    return int(cursor.lastrowid)


def stored(db: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return list(db.conn.execute(sql, params))


def test_tag_stage_is_incremental_and_retags_on_a_taxonomy_change(db: Database, taxonomy_dir: Path,
                                                                    tmp_path: Path) -> None:
    fined = add_article(db, "https://a.example/1", "ICO fines Clearview AI £7.5m over the UK data breach")
    plain = add_article(db, "https://a.example/2", "Apple paid $200 million for an AI startup")
    first = tag_articles(db, taxonomy_dir)
    assert (first.articles, first.retagged, first.fines) == (2, 2, 1)
    assert {t for (t,) in stored(db, "SELECT tag FROM article_tags WHERE article_id = ?", fined)} == \
        {"ico", "gb", "fine", "clearview-ai", "ai"} - {"ai"}
    assert stored(db, "SELECT amount, currency, regulator, company FROM fines") == \
        [(7_500_000.0, "GBP", "ico", "clearview-ai")]
    (rel_fined, at_fined), (rel_plain, _) = stored(db, "SELECT relevance, tagged_at FROM articles ORDER BY id")
    assert rel_fined > 0.5 > rel_plain and at_fined is not None

    again = tag_articles(db, taxonomy_dir)
    assert (again.articles, again.retagged) == (0, 0)

    db.conn.execute("UPDATE articles SET tagged_at = '2000-01-01T00:00:00Z'")  # to see what moves
    apply_meta(db, plain, {"title": "Apple paid $200 million for an AI start-up"}, "crawl")  # same tags
    db.conn.execute("UPDATE articles SET updated_at = '2100-01-01T00:00:00Z' WHERE id = ?", [plain])
    third = tag_articles(db, taxonomy_dir)
    assert (third.articles, third.retagged, third.changed) == (1, 1, 0)
    assert stored(db, "SELECT tagged_at FROM articles WHERE id = ?", plain) == [("2000-01-01T00:00:00Z",)]

    smaller = write_taxonomy(tmp_path / "v2", **{"companies.yml": "kind: company\nentries: []\n"})
    fourth = tag_articles(db, smaller)
    assert fourth.rebuilt and fourth.articles == 2 and fourth.changed == 1
    assert stored(db, "SELECT company FROM fines") == [(None,)]
    assert stored(db, "SELECT id FROM articles WHERE tagged_at > '2000-01-01T00:00:00Z'") == [(fined,)]


def test_a_broken_taxonomy_changes_nothing_stored(runner: CliRunner, tmp_path: Path, taxonomy_dir: Path) -> None:
    db_path = tmp_path / "t.db"
    db = open_db(db_path)
    add_article(db, "https://a.example/1", "The ICO fined Meta £1m")
    tag_articles(db, taxonomy_dir)
    db.conn.execute("UPDATE articles SET title = 'The Garante fined Meta €2m', updated_at = '2100-01-01T00:00:00Z'")
    before = [stored(db, f"SELECT * FROM {t} ORDER BY 1") for t in ("article_tags", "fines", "lens", "articles")]
    db.close()
    broken = write_taxonomy(tmp_path / "broken", **{"laws.yml": FILES["laws.yml"].replace("id: bipa", "id: gdpr")})
    result = runner.invoke(main, ["tag", "--db", str(db_path), "--taxonomy", str(broken)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "laws.yml:13: duplicate id 'gdpr'" in lines[0]
    db = open_db(db_path)
    tables = ("article_tags", "fines", "lens", "articles")
    assert [stored(db, f"SELECT * FROM {t} ORDER BY 1") for t in tables] == before


def test_exports_of_tags_and_fines(runner: CliRunner, tmp_path: Path, taxonomy_dir: Path) -> None:
    db_path = tmp_path / "t.db"
    db = open_db(db_path)
    article = add_article(db, "https://a.example/1", "The ICO fined Clearview AI £7.5m")
    tag_articles(db, taxonomy_dir)
    db.close()
    out = runner.invoke(main, ["export", "tags", "--db", str(db_path)])
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(rows[0]) == ["article_id", "url", "kind", "tag", "label"]
    assert {(r["kind"], r["tag"], r["label"]) for r in rows} >= {
        ("regulator", "ico", "Information Commissioner's Office (UK)"), ("company", "clearview-ai", "Clearview AI")}
    out = runner.invoke(main, ["export", "fines", "--db", str(db_path), "--format", "jsonl"])
    fine = json.loads(out.stdout.splitlines()[0])
    assert list(fine) == ["article_id", "url", "cluster_id", "amount", "currency", "amount_eur", "kind",
                          "regulator", "company", "law", "evidence"]
    assert (fine["article_id"], fine["amount"], fine["regulator"]) == (article, 7_500_000.0, "ico")
    for what in ("articles", "stories"):
        header = runner.invoke(main, ["export", what, "--db", str(db_path)]).stdout.splitlines()[0]
        assert header.split(",")[-1] == "relevance"


def test_a_total_of_many_fines_is_its_own_kind_and_no_company_paid_it(matcher: Matcher) -> None:
    finder = FineFinder()
    text = "GDPR fines under the ICO have topped £126 million; Google was among those fined."
    [total] = finder.find(matcher.tag(text), "2020-01-16")
    assert (total.kind, total.amount, total.company) == ("total", 126_000_000, None)
    text = "The Information Commissioner's Office's penalties totalled £50 million last year, led by Google's."
    assert [(f.kind, f.regulator, f.company) for f in finder.find(matcher.tag(text), None)] == [
        ("total", "ico", None)]
    # one penalty is not a total, even in the plural "fines" of a headline
    text = "The ICO fined Clearview AI £7.5m for breaking UK data protection law."
    assert [f.kind for f in finder.find(matcher.tag(text), None)] == ["fine"]


def test_the_only_company_is_not_the_payer_when_named_only_in_the_other_clause(matcher: Matcher) -> None:
    finder = FineFinder()
    # the real shared-seed headline: two stories joined by a semicolon
    text = "UK Regulators' Data Violation Fines Top $126M; Google CEO Calls For AI Governance"
    [fine] = finder.find(matcher.tag(text), "2020-01-21")
    assert fine.company is None
    # the only company named in another sentence of the article still is the payer
    text = "Meta is under scrutiny. A penalty of $5 billion was imposed by the FTC."
    assert [f.company for f in finder.find(matcher.tag(text), None)] == ["meta"]


def test_the_payer_before_the_amount_and_clauses_cut_at_semicolons(matcher: Matcher) -> None:
    finder = FineFinder()
    fines = finder.find(matcher.tag("Meta agreed to pay $5 billion to resolve the Clearview AI case."), "2019-07-24")
    assert [(f.kind, f.company) for f in fines] == [("settlement", "meta")]
    text = "Regulators' data fines top $126M; Meta settles with Clearview AI"
    assert [(f.kind, f.amount) for f in finder.find(matcher.tag(text), None)] == [("total", 126_000_000)]
    text = "Regulators' data reviews cost $126M; Meta settles a suit"  # the penalty word is in the other clause
    assert finder.find(matcher.tag(text), None) == []


def test_run_with_a_broken_taxonomy_clusters_on_old_tags_and_records_the_failure(
        tmp_path: Path, taxonomy_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.job import run_job

    db_path = tmp_path / "data" / "tracker.db"
    db = open_db(db_path)
    article = add_article(db, "https://a.example/1", "The ICO fined Meta £1m over a data breach")
    db.conn.execute("UPDATE articles SET status = 'fetched', next_fetch_at = '2999-01-01T00:00:00Z'")
    tag_articles(db, taxonomy_dir)
    db.conn.execute("UPDATE articles SET title = 'The Garante fined Meta', updated_at = '2100-01-01T00:00:00Z'")
    tags_before = stored(db, "SELECT * FROM article_tags ORDER BY tag")
    db.close()
    broken = write_taxonomy(tmp_path / "broken", **{"laws.yml": FILES["laws.yml"].replace("id: bipa", "id: gdpr")})
    monkeypatch.setattr("tracker.lens.taxonomy.DEFAULT_TAXONOMY", broken)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    with pytest.raises(TaxonomyError, match="laws.yml:13: duplicate id 'gdpr'"):
        run_job(db_path, [str(seeds)], {}, log_dir=tmp_path / "logs")
    db = open_db(db_path)
    status, errors = stored(db, "SELECT status, errors FROM runs")[0]
    assert status == "failed" and "tag: " in errors and "duplicate id 'gdpr'" in errors
    assert stored(db, "SELECT * FROM article_tags ORDER BY tag") == tags_before
    assert stored(db, "SELECT cluster_id IS NOT NULL FROM articles WHERE id = ?", article) == [(1,)]


def test_datasette_lens_views_queries_feed_and_label_links(tmp_path: Path, taxonomy_dir: Path) -> None:
    from tests.test_serve import get, get_json, serving

    db_path = tmp_path / "lens.db"
    db = open_db(db_path)
    db.conn.execute("INSERT INTO clusters (id, headline, first_seen, last_seen, n_articles, n_publishers) "
                    "VALUES (1, 'ICO fines Clearview', '2022-05-23T00:00:00Z', '2022-05-23T00:00:00Z', 1, 1)")
    article = add_article(db, "https://a.example/1", "The ICO fined Clearview AI £7.5m under the GDPR")
    db.conn.execute("UPDATE articles SET cluster_id = 1")
    tag_articles(db, taxonomy_dir)
    db.close()
    with serving(db_path, tmp_path / "serve.log") as base:
        rows = get_json(base, "/lens/story_lens.json", _shape="array")
        assert rows[0]["laws"] == '["General Data Protection Regulation (GDPR)"]' and rows[0]["relevance"] >= 0.9
        status, html = get(base, "/lens/story_lens")
        assert status == 200 and '_regulator=Information+Commissioner' in html
        assert '["' not in html.split("<tbody>")[1]  # labels, not raw JSON
        fine = get_json(base, "/lens/enforcement.json", _shape="array")[0]
        assert (fine["regulator"], fine["company"], fine["amount"], fine["story_id"]) == \
            ("Information Commissioner's Office (UK)", "Clearview AI", 7_500_000, 1)
        by_regulator = get_json(base, "/lens/fines_by_regulator.json", _shape="array", kind="")
        assert by_regulator[0]["regulator"] == "Information Commissioner's Office (UK)"
        assert [r["story_id"] for r in get_json(base, "/lens/stories_about_law.json", _shape="array",
                                                  law="gdpr")] == [1]
        assert get_json(base, "/lens/new_in_jurisdiction.json", _shape="array", jurisdiction="gb",
                        days="100000")[0]["story_id"] == 1
        status, feed = get(base, "/lens/tag_feed.atom", tag="ico", min_relevance="0.5")
        assert status == 200 and "<title>ICO fines Clearview</title>" in feed
        status, story = get(base, "/lens/story", id="1")
        assert status == 200 and "<dt>Regulators</dt>" in story
        assert "story_tags?tag=ico\" title=\"1 of its articles\">Information Commissioner" in story
        assert "fine: 7,500,000 GBP" in story and "Clearview AI" in story.split("Reported amounts")[1]
        status, _ = get(base, "/-/dashboards/enforcement")
        assert status == 200
        facet = get_json(base, "/lens/story_tags.json", _facet="kind", _shape="objects")
        assert {f["value"] for f in facet["facet_results"]["kind"]["results"]} >= {"regulator", "law", "company"}
    assert article == 1


def test_a_line_ending_in_an_abbreviation_still_ends_its_sentence() -> None:
    # A title ending "... in the U.S." followed by the excerpt on the next line: the full stop is an
    # abbreviation's, but the line break ends the sentence, so context does not leak across.
    tagged = Tagged(text="Facebook fined in the U.S.\nA new probe opens")
    start, end = tagged.sentence_bounds(tagged.text.index("probe"))
    assert tagged.text[start:end] == "A new probe opens"
    start, end = tagged.sentence_bounds(tagged.text.index("U.S."))
    assert tagged.text[start:end].strip() == "Facebook fined in the U.S."
