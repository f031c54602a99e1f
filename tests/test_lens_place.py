"""The jurisdiction of the action (tracker/lens/place.py) on invented sentences, with the shipped taxonomy."""

from __future__ import annotations

import pytest

from tracker.lens.tag_stage import Tagger
from tracker.lens.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_taxonomy())


def places(tagger: Tagger, title: str, excerpt: str | None = None) -> set[str]:
    result = tagger.tag_row((1, title, excerpt, None, None, None))
    assert result is not None
    return {tag for tag, kind, _label, _n in result.tags if kind == "jurisdiction"}


def test_a_passing_mention_of_another_country_is_not_the_place(tagger: Tagger) -> None:
    found = places(tagger, "Watchdog acts on a retailer's cameras",
                   "The Information Commissioner's Office fined a grocery chain for its face scanners. "
                   "Similar scanners are common in Japan and Brazil, a researcher noted.")
    assert found == {"gb"}


def test_the_company_home_is_not_the_regulator_place(tagger: Tagger) -> None:
    found = places(tagger, "Regulator orders a photo scraper to delete its database",
                   "The Dutch data protection authority ordered US-based scraper Lensmark to delete "
                   "the faces it holds. A Canada headquartered rival was spared.")
    assert "nl" in found and "us" not in found and "ca" not in found
    # the home country is the place when it is where the company is acted on
    assert places(tagger, "A court in Canada fines a Canadian firm",
                  "A judge in Canada fined the firm for selling location data.") == {"ca"}


def test_an_eu_level_action_is_the_eu(tagger: Tagger) -> None:
    found = places(tagger, "Brussels tables rules on emotion recognition",
                   "The European Commission proposed legislation limiting emotion recognition at work. "
                   "Officials in Germany had lobbied for stricter wording last spring, one diplomat recalled.")
    assert "eu" in found and "de" not in found


def test_a_police_deployment_keeps_its_place_without_a_regulator(tagger: Tagger) -> None:
    found = places(tagger, "Police in Manchester to deploy live facial recognition cameras",
                   "The force will deploy the cameras in the UK's third city; critics pointed to "
                   "how China uses such systems.")
    assert "gb" in found and "cn" not in found


def test_a_state_action_keeps_its_country(tagger: Tagger) -> None:
    found = places(tagger, "Texas sues a social network over face templates",
                   "The state sued the network, which is a New York-based company, over biometric data.")
    assert found == {"us-tx", "us"}


def test_without_action_or_authority_the_first_place_named_stays(tagger: Tagger) -> None:
    # no action word and no authority: the title's place, not the one of a later aside
    assert places(tagger, "Robot baristas spread across Norway",
                  "A similar cafe opened in Portugal last year.") == {"no"}
    # one place named: nothing to choose between, it stays
    assert places(tagger, "A museum in Portugal shows generative art") == {"pt"}


def test_a_place_inside_an_action_clause_still_counts(tagger: Tagger) -> None:
    # the legislation description spans "call for US moratorium": the US is still named
    assert places(tagger, "Dozens of charities call for US moratorium on face scanning") == {"us"}
    assert places(tagger, "Face recognition app used by more than 300 US police agencies") == {"us"}
