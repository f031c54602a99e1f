"""The shipped taxonomy (tracker/lens/taxonomy/) on the cases the issue names, and on the shared seeds."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import main
from tracker.store import open_db
from tracker.lens.fines import FineFinder
from tracker.lens.matcher import Matcher
from tracker.lens.tag_stage import tag_articles
from tracker.lens.taxonomy import KINDS, check_taxonomy, load_taxonomy


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_taxonomy())


def tags(matcher: Matcher, text: str) -> dict[str, str]:
    return {tag: kind for tag, (kind, _label, _n) in matcher.tag(text).tags.items()}


def test_the_shipped_taxonomy_passes_its_check(runner: CliRunner) -> None:
    entries, problems = check_taxonomy()
    assert problems == [] and entries >= 300
    kinds = {e.kind for e in load_taxonomy().entries}
    assert kinds == set(KINDS)
    assert runner.invoke(main, ["taxonomy", "check"]).exit_code == 0


def test_shipped_weights_lift_a_dpa_story_above_a_securities_story() -> None:
    from tracker.lens.tag_stage import Tagger

    tagger = Tagger(load_taxonomy())
    assert tagger.weights["sec"] == 0.5 and "ico" not in tagger.weights

    def relevance(title: str) -> float:
        result = tagger.tag_row((1, title, None, None, None, None))
        assert result is not None
        return result.relevance

    assert relevance("The Securities and Exchange Commission opens an inquiry") < relevance(
        "The Information Commissioner's Office opens an inquiry")


def test_ico_regulator_coin_offering_puerto_rico(matcher: Matcher) -> None:
    assert tags(matcher, "The ICO fined the retailer after a data breach.")["ico"] == "regulator"
    assert "ico" not in tags(matcher, "The startup's ICO raised $20m in crypto tokens.")
    assert "ico" not in tags(matcher, "An ICO, or initial coin offering, sells tokens to investors.")
    assert "ico" not in tags(matcher, "Data centres in Puerto Rico and Mexico")


def test_the_act_alone_names_no_law(matcher: Matcher) -> None:
    assert tags(matcher, "The Act comes into force in May, and the act is long.") == {}
    assert not [k for k in tags(matcher, "The Act was passed on Tuesday.").values() if k == "law"]


def test_garante_in_italian_coverage(matcher: Matcher) -> None:
    found = tags(matcher, "Il Garante per la privacy ha sanzionato la società per violazione dei dati.")
    assert found["garante"] == "regulator" and found["it"] == "jurisdiction"


def test_meta_company_not_meta_description(matcher: Matcher) -> None:
    assert tags(matcher, "Meta was fined €1.2bn by the Irish Data Protection Commission.")["meta"] == "company"
    assert "meta" not in tags(matcher, "Write a good meta description for every page.")
    assert "meta" not in tags(matcher, "Add a Meta description tag to the page.")


@pytest.mark.parametrize("text", ["Ein Verstoß gegen die DSGVO", "une violation du RGPD",
                                  "nach der Datenschutz-Grundverordnung"])
def test_gdpr_named_in_another_language(matcher: Matcher, text: str) -> None:
    assert tags(matcher, text)["gdpr"] == "law"


@pytest.mark.parametrize("text, tag", [
    ("The UK's privacy watchdog fined the firm.", "ico"),
    ("Italy's data protection authority blocked the chatbot.", "garante"),
    ("A suit under Illinois' biometric privacy law against the company.", "bipa"),
])
def test_descriptions(matcher: Matcher, text: str, tag: str) -> None:
    assert tag in tags(matcher, text)


def test_a_fine_in_the_shipped_taxonomy(matcher: Matcher) -> None:
    text = "La CNIL inflige une amende de 150 millions d'euros à Google pour ses cookies."
    fines = FineFinder().find(matcher.tag(text), "2021-12-31T00:00:00Z")
    assert [(f.amount, f.currency, f.kind, f.regulator, f.company) for f in fines] == \
        [(150_000_000, "EUR", "fine", "cnil", "google")]
    assert FineFinder().find(matcher.tag("Startup raises $3 million to build AI chips."), None) == []


def test_seeds_ai_news_scores_low(shared_dir: Path, tmp_path: Path) -> None:
    """The Power Apps seeds (no privacy news at all) score low; the ICO's Clearview fine high."""
    from tracker.seeds.files import load_seeds

    db = open_db(tmp_path / "seeds.db")
    load_seeds(db, [shared_dir / "seeds" / "smartable-power-apps"])
    db.conn.execute("INSERT INTO articles (url, title, excerpt, status, first_seen, published) VALUES "
                    "('https://x.example/1', 'ICO fines Clearview AI £7.5m', 'The UK''s data protection "
                    "watchdog fined Clearview AI £7.5m under UK GDPR for scraping images.', 'new', "
                    "'2022-05-23T00:00:00Z', '2022-05-23T00:00:00Z')")
    tag_articles(db)
    scores = [r for (r,) in db.conn.execute("SELECT relevance FROM articles WHERE url NOT LIKE '%x.example%'")]
    assert len(scores) > 100 and sum(s >= 0.5 for s in scores) <= len(scores) * 0.05
    assert db.conn.execute("SELECT relevance FROM articles WHERE url = 'https://x.example/1'").fetchone()[0] >= 0.9


def test_bench_tag_runs_end_to_end_on_a_few_articles(shared_dir: Path) -> None:
    from tracker.bench.tag import run_tag_bench

    lines = run_tag_bench(300, workers=1, seeds=shared_dir / "seeds" / "smartable-ai")
    assert any(line.startswith("tagged 300 synthetic articles") for line in lines), lines
    assert any("tracker tag on a 300-article database" in line for line in lines), lines
    assert "load average" in lines[-1]


# --- Actions on titles: police deployments, demands to stop, calls for legislation (invented titles) ---

@pytest.mark.parametrize("title", [
    "Police in Harbourtown to begin using live facial recognition at the station",
    "Officers turn to face recognition to find a missing hiker",
    "Face recognition tool used by 40 sheriff's offices and police departments",
    "County police use of facial recognition under review",
])
def test_police_use_of_surveillance_is_a_deployment(matcher: Matcher, title: str) -> None:
    assert tags(matcher, title).get("deployment") == "action"


@pytest.mark.parametrize("title", [
    "Face recognition firm used by police fined by the watchdog",  # the action is the fine
    "State bill would ban police use of facial recognition",  # the action is the ban
    "Mayor bars police from using the face-matching app",
    "Police use a new radio system",  # no surveillance technology
])
def test_a_passing_mention_of_police_use_is_no_deployment(matcher: Matcher, title: str) -> None:
    assert "deployment" not in tags(matcher, title)


@pytest.mark.parametrize("title", [
    "Video site tells photo-scraping startup to stop using its members' pictures",
    "Two platforms sent letters to the face-search company demanding it delete their images",
])
def test_a_platforms_demand_to_stop_is_an_order(matcher: Matcher, title: str) -> None:
    assert tags(matcher, title).get("order") == "action"


@pytest.mark.parametrize("title", [
    "Chipmaker's chief calls for sensible regulation of emotion AI",
    "Thirty charities call for a moratorium on face scanning in schools",
    "Campaigners urge lawmakers to ban predictive policing",
])
def test_a_call_for_legislation_is_legislation(matcher: Matcher, title: str) -> None:
    assert tags(matcher, title).get("legislation") == "action"


@pytest.mark.parametrize("title", [
    "Robotaxi maker calls for a new way to measure readiness",
    "Investors call for higher dividends at the chipmaker",
    "The app tells users to stop scrolling at night",
])
def test_other_calls_and_demands_are_no_action(matcher: Matcher, title: str) -> None:
    found = tags(matcher, title)
    assert "legislation" not in found and "order" not in found
