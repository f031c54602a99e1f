"""The in-memory clustering (tracker/stories/: cluster.py and its parts) and the benchmark's scoring."""

from __future__ import annotations

import pytest

from tracker.bench.cluster import score, split, synthetic_items, UCI_CSV
from tracker.stories.cluster import DAY, ClusterOptions, Clusterer, Item, cluster_items, pick_headline
from tracker.stories.evidence import Evidence, item_tags, supports_merge, tags_conflict
from tracker.stories.merge import merge_roots, survivor
from tracker.stories.terms import name_terms, script_of, specificity, tokenize, url_terms


def test_tokenize_drops_stop_words_folds_plurals_and_splits_cjk() -> None:
    assert tokenize("The Regulators fine Acme's cameras") == ["regulator", "fine", "acme", "camera"]
    assert tokenize("意大利要求") == ["意大", "大利", "利要", "要求"]
    assert tokenize("") == []


@pytest.mark.parametrize("text, script", [("Hello world", "latin"), ("Привет мир", "cyrillic"),
                                          ("Clearview AI 被意大利要求删除照片", "han"),
                                          ("イタリア、Clearview AIに", "kana"), ("2024 !!", "")])
def test_script_of(text: str, script: str) -> None:
    assert script_of(text) == script


def test_stories_close_in_time_cluster_and_old_ones_do_not() -> None:
    items = [Item(1, 0, "Acme fined over facial recognition cameras"),
             Item(2, 3600, "Facial recognition cameras cost Acme a fine"),
             Item(3, 7200, "Senate passes children's privacy bill"),
             Item(4, 60 * DAY, "Acme fined over facial recognition cameras again")]
    leaders = {a.item_id: a.leader for a in cluster_items(items)}
    assert leaders == {1: 1, 2: 1, 3: 3, 4: 4}


def test_pinned_items_stand_alone_and_order_is_enforced() -> None:
    items = [Item(1, 0, "Acme fined"), Item(2, 1, "Acme fined"), Item(3, 2, "Acme fined")]
    assert [a.leader for a in cluster_items(items, pinned=[2])] == [1, 2, 1]
    clusterer = Clusterer()
    clusterer.add(items[1])
    with pytest.raises(ValueError):
        clusterer.add(items[0])


def test_identical_titles_are_duplicates() -> None:
    items = [Item(1, 0, "Acme fined over cameras", "Long wire text " * 5),
             Item(2, 60, "Acme fined over cameras", "Long wire text " * 5)]
    second = list(cluster_items(items, ClusterOptions()))[1]
    assert (second.leader, second.duplicate_of, second.similarity) == (1, 1, 1.0)


def test_pick_headline_prefers_the_typical_title() -> None:
    titles = ["Live: Day 2", "Acme fined over cameras", "Acme fined over cameras by regulator",
              "Regulator fines Acme over cameras"]
    assert pick_headline(titles) == "Acme fined over cameras"
    assert pick_headline([]) == "" and pick_headline(["Only"]) == "Only"


def test_bcubed_and_pairwise_scores() -> None:
    perfect = score({1: 1, 2: 1, 3: 3}, {1: "a", 2: "a", 3: "b"})
    assert perfect.bcubed_f1 == perfect.pair_f1 == 1.0
    lumped = score({1: 1, 2: 1, 3: 1}, {1: "a", 2: "a", 3: "b"})
    assert lumped.bcubed_r == 1.0 and lumped.bcubed_p == pytest.approx(5 / 9)
    assert lumped.pair_p == pytest.approx(1 / 3)


def test_split_is_fixed_and_synthetic_items_are_reproducible() -> None:
    if not UCI_CSV.exists():
        pytest.skip("UCI sample missing")
    rows = [(Item(i, i), str(i % 3)) for i in range(10)]
    assert split(rows) == split(rows) and len(split(rows)[0]) == 5
    first = [i.title for i, _ in synthetic_items(50)]
    assert first == [i.title for i, _ in synthetic_items(50)] and len(first) == 50


def test_hyphenated_names_stay_whole_and_url_slugs_give_terms() -> None:
    assert tokenize("Southern Co-op defends T-Mobile deal") == ["southern", "coop", "defend", "tmobile", "deal"]
    assert tokenize("long-awaited privacy-law") == ["long", "awaited", "privacy", "law"]
    assert url_terms("https://news.example/2024/03/04/acme-fined-over-cameras-123.html?utm_source=x") == \
        ["acme", "fined", "camera"]
    assert url_terms("https://news.example/article/6232223") == []
    assert url_terms("https://x.example/AllNews.asp?headline=Acme_Fined_Over_Cameras") == ["acme", "fined", "camera"]
    assert url_terms("") == []
    assert url_terms("http://[bad/acme-fined-over-cameras") == []  # unparseable: no terms, no crash
    assert len(list(cluster_items([Item(1, 0, "Acme fined", url="http://[bad/acme-fined-over-cameras")]))) == 1


def test_specificity_is_rarity_in_ordinary_language() -> None:
    common, story = specificity("says"), specificity("titanfall")
    assert common is not None and story is not None and common < 3.0 < story
    assert specificity("the") == 0.3  # floor: never zero, never negative
    assert specificity("прокуратура") is None  # no language given: the news window decides
    assert specificity("прокуратура", "ru") is not None


def test_fragments_of_one_story_merge_and_the_older_survives() -> None:
    clusterer = Clusterer()
    first = clusterer.add(Item(1, 0, "Acme cameras fined by regulator"))
    second = clusterer.add(Item(2, 3600, "Zeta shop chain apologises to customers"))
    assert (first.leader, second.leader) == (1, 2)
    bridge = clusterer.add(Item(3, 7200, "Acme cameras fined: Zeta shop chain apologises to customers"))
    assert bridge.leader in (1, 2)
    assert clusterer.merges == [(2, 1, 7200)]
    later = clusterer.add(Item(4, 9000, "Zeta shop chain apologises"))
    assert later.leader == 1  # the merged cluster takes what either fragment would have taken
    assert merge_roots([(2, 1, 0.0), (5, 2, 1.0)]) == {2: 1, 5: 1}


def test_survivor_follows_chains_and_stops_on_a_cycle() -> None:
    into = {5: 2, 2: 1, 7: 8, 8: 7}
    assert survivor(5, into.get) == 1
    assert survivor(3, into.get) == 3  # never merged
    assert survivor(7, into.get) == 7  # bad data: the walk stops where the cycle closes
    known: dict[int, int] = {}
    assert survivor(5, into.get, known) == 1 and known == {5: 1, 2: 1}
    assert survivor(9, {9: 5}.get, known) == 1  # stops at 5, already resolved


def test_beat_terms_alone_do_not_make_a_story() -> None:
    items = [Item(1, 0, "Facial recognition: toilet paper dispensers in Dongguan paused"),
             Item(2, 600, "Facial recognition curbs: advocates press Congress")]
    assert len({a.leader for a in cluster_items(items)}) == 2
    plain = ClusterOptions(beat_terms=frozenset())  # "facial" is rare in ordinary English...
    assert specificity("facial") > 3.0
    assert len({a.leader for a in cluster_items(items, plain)}) == 1  # ...so without the beat list they merge


def test_a_word_in_most_of_the_window_counts_less() -> None:
    fresh, busy = Clusterer(), Clusterer()
    for i in range(200):  # a feed about robots: "robot" names the collection, not a story
        busy.add(Item(i, i * 60.0, f"Robot news item {i}"))
    probe = Item(10_000, 200 * 60.0, "Robot vacuum maker Xyzzo recalls chargers")
    alone, crowded = fresh._prepare(probe).vector, busy._prepare(probe).vector
    assert crowded["robot"] < 0.5 * alone["robot"]
    assert crowded["xyzzo"] > alone["xyzzo"]  # (vectors are normalised: the rest gains)


def test_press_releases_alike_in_words_are_different_stories() -> None:
    items = [Item(1, 0, "Tealium launches Predict, a machine learning platform for retailers",
                  "Tealium, of San Diego, today announced Predict, which forecasts shopper demand with machine "
                  "learning on cloud analytics."),
             Item(2, 600, "ReadSpeaker launches VoiceLab machine learning platform for brands",
                  "ReadSpeaker, the Uppsala voice company, today unveiled VoiceLab, which builds branded voices "
                  "with machine learning in the cloud."),
             Item(3, 1200, "Zyxora launches Quantiflow machine learning platform for grocers",
                  "Tallinn start-up Zyxora today introduced Quantiflow, which prices stock with machine learning "
                  "and cloud analytics.")]
    plain = ClusterOptions(min_marks=10**6)  # the similarity test alone lumps them together
    assert len({a.leader for a in cluster_items(items, plain)}) < 3
    assert len({a.leader for a in cluster_items(items)}) == 3
    again = Item(4, 1800, "Tealium's Predict brings machine learning forecasts to retailers",
                 "Predict, launched by Tealium of San Diego, forecasts demand for shoppers.")
    assert [a.leader for a in cluster_items(items + [again])][-1] == 1  # a second report of one launch


def test_a_chain_through_a_topic_is_not_followed() -> None:
    waymo = [Item(1, 0, "Waymo begins mapping Texas interstates for its trucks",
                  "Waymo said on Thursday its trucks will map interstates around Dallas and Houston."),
             Item(2, 300, "Waymo trucks to map Texas interstates",
                  "Waymo is sending trucks to map the interstates between Dallas and Houston.")]
    bridge = Item(3, 600, "Waymo maps Texas interstates around Dallas for trucks; Daimler and Torc test theirs",
                  "Waymo will map Dallas and Houston interstates. Daimler and Torc test near Blacksburg, Virginia.")
    daimler = Item(4, 1200, "Daimler and Torc put trucks on public roads in Virginia",
                   "Daimler and Torc said their trucks are out near Blacksburg, Virginia.")
    items = waymo + [bridge, daimler]
    # like the bridge, unlike the Waymo story: similarity alone follows the chain, evidence does not
    assert [a.leader for a in cluster_items(items, ClusterOptions(min_marks=10**6))] == [1, 1, 1, 1]
    assert [a.leader for a in cluster_items(items)] == [1, 1, 1, 4]


def test_one_outlets_template_is_no_evidence_but_its_follow_up_joins_a_shared_story() -> None:
    title = "{t} Market 2020 Industry Outlook, Comprehensive Insights, Growth by Top Companies"
    body = ("Qyrell Research of Albany publishes its {t} market report: Comprehensive Insights on the {t} "
            "industry, segmented by region, with forecasts to 2026.")
    reports = [Item(i + 1, i * 600.0, title.format(t=t), body.format(t=t.lower()), "MarketWire")
               for i, t in enumerate(["Drone Delivery", "Smart Mirror", "Seaweed Packaging"])]
    # the same seven marks in each report are the outlet's boilerplate, not one event
    assert [a.leader for a in cluster_items(reports, ClusterOptions(own_outlet_weight=1.0))] == [1, 1, 1]
    assert [a.leader for a in cluster_items(reports)] == [1, 2, 3]
    copy = Item(4, 1900, reports[1].title, reports[1].body, "MarketWire")  # its own page under a second URL
    assert [(a.leader, a.duplicate_of) for a in cluster_items(reports + [copy])][-1] == (2, 2)
    story = [Item(1, 0, "Albany regulators fine Qyrell over drone delivery records",
                  "New York regulators fined Qyrell, the Albany drone delivery start-up, for keeping "
                  "customers' flight records.", "Herald"),
             Item(2, 600, "Qyrell fined for keeping drone delivery flight records",
                  "Qyrell, an Albany start-up delivering parcels by drone, was fined by state regulators over "
                  "flight records.", "Daily"),
             Item(3, 1200, "Qyrell to appeal Albany fine over drone flight records",
                  "Qyrell said it will appeal the fine over the flight records its drone delivery service kept "
                  "in Albany.", "Herald")]
    assert [a.leader for a in cluster_items(story)] == [1, 1, 1]  # the Herald's follow-up: Daily's marks


def test_a_mark_in_every_original_asks_fewer_shared_marks() -> None:
    first = [Item(1, 0, "Southern Coop trials Facewatch cameras in its stores",
                  "Southern Coop has teamed up with startup Facewatch to trial cameras.", "Computing"),
             Item(2, 600, "Privacy groups alarmed at Southern's camera trial",
                  "Groups are alarmed that the cooperative Southern filmed shoppers in stores.", "Infosec")]
    late = Item(3, 1200, "Retailer Southern answers campaigners",
                "The international grocer offered reassurance about Facewatch, saying thefts and violence against "
                "staff fell sharply across its Hampshire branches last winter.", "Grocer")
    items = first + [late]
    # it shares 1.5 marks on average, short of two: enough only because "southern" is in every original
    assert [a.leader for a in cluster_items(items)] == [1, 1, 1]
    assert [a.leader for a in cluster_items(items, ClusterOptions(unanimous_share=0.5))] == [1, 1, 3]


def test_differing_tags_keep_stories_apart_and_missing_tags_change_nothing() -> None:
    body = "Clearview AI, the facial recognition company, must pay over its database of scraped photos."
    uk = Item(1, 0, "Clearview AI must pay over scraped photos database", body,
              tags=frozenset({"company:clearview-ai", "action:fine", "jurisdiction:uk"}))
    us = Item(2, 600, "Clearview AI must pay over scraped photos database, court says", body,
              tags=frozenset({"company:clearview-ai", "action:settlement", "jurisdiction:us-il"}))
    assert len({a.leader for a in cluster_items([uk, us])}) == 2
    untagged = [Item(i.id, i.time, i.title, i.body) for i in (uk, us)]
    assert len({a.leader for a in cluster_items(untagged)}) == 1
    one_side = [uk, untagged[1]]  # only one side tagged: no conflict to see
    assert len({a.leader for a in cluster_items(one_side)}) == 1
    assert len({a.leader for a in cluster_items([uk, us], ClusterOptions(use_tags=False))}) == 1


def test_one_articles_passing_tag_does_not_make_its_story_about_it() -> None:
    story = Evidence()
    for n in range(5):  # five reports of one speech; one mentions Britain in passing
        story.add((), {"company:alphabet"} | ({"jurisdiction:gb"} if n == 0 else set()))
    eu = item_tags({"company:alphabet", "jurisdiction:eu"})
    assert tags_conflict(eu, story, share=0.0)  # every tag of every article counted: kept apart
    assert not tags_conflict(eu, story, share=ClusterOptions().tag_share)
    story.add((), {"company:alphabet", "jurisdiction:gb"})  # two of six now: what the story is about
    assert tags_conflict(eu, story, share=ClusterOptions().tag_share)
    assert not tags_conflict(item_tags({"company:alphabet", "jurisdiction:gb"}), story, share=0.25)


def test_a_name_in_many_open_stories_is_a_topics_not_an_events() -> None:
    elsewhere = Item(1, 0, "Havenloodsen staken in Rotterdam om nachtdiensten",
                     "De havenautoriteit, die haar roosters in Zorbcloud Velanta bijhoudt, wijst naar de veerdienst.",
                     "Havenkrant", "nl")  # another story naming the cloud company (apart: another language)
    quorvex = Item(2, 600, "Quorvex moves customer billing to Zorbcloud Velanta",
                   "Quorvex, the Lisbon water utility, will run invoices, meter readings and leak alerts for its "
                   "four hundred thousand households on Zorbcloud Velanta from March, finance chief Ines "
                   "Saramago said, after a tender against two Portuguese rivals.", "Wire A", "en")
    brimtal = Item(3, 660, "Brimtal moves its newspaper archive to the cloud",
                   "Brimtal, the Oslo publisher of eleven regional dailies, will keep scanned pages going back to "
                   "1890, obituaries and photographs on Zorbcloud Velanta, editor Sigrun Haugland wrote to "
                   "subscribers in Tromso and Bergen.", "Wire B", "en")
    items = [elsewhere, quorvex, brimtal]
    # two customers' deals share only the company's name: counted in full, it joins them
    assert [a.leader for a in cluster_items(items, ClusterOptions(topic_share=0.0))] == [1, 2, 2]
    assert [a.leader for a in cluster_items(items)] == [1, 2, 3]
    follow_up = Item(3, 660, "Quorvex billing heads to Zorbcloud Velanta, Saramago says",
                     "The Lisbon water utility Quorvex will move meter readings, leak alerts and invoices after "
                     "the tender, finance chief Ines Saramago told reporters.", "Wire B", "en")
    assert [a.leader for a in cluster_items([elsewhere, quorvex, follow_up])] == [1, 2, 2]


def test_a_templated_series_is_not_one_story() -> None:
    # other open stories (in other languages, so they stay apart) use the template's words too
    elsewhere = [Item(1, 0, "Börse 2020: Global Trends, Market Share und Industry Analysis im Fokus",
                      "Frankfurter Händler verkaufen Siemens-Aktien nach dem Forecast.", "Handelsblatt", "de"),
                 Item(2, 60, "Mode 2020: Global Trends en Market Share volgens de Industry Analysis",
                      "Vinted en Depop melden dubbele omzet in de Forecast.", "Modeblad", "nl"),
                 Item(3, 120, "Transport maritime 2020: Global Trends, Market Share et Industry Analysis",
                      "Maersk détourne ses pétroliers selon le Forecast.", "Le Marin", "fr"),
                 Item(4, 180, "Turismo 2020: Global Trends y Market Share según la Industry Analysis",
                      "Los hoteles de Mallorca esperan más visitantes, dice el Forecast.", "El Viajero", "es")]
    reports = [Item(10 + i, 600 + 60 * i, f"{subject} Market 2020 Global Trends, Industry Share, Analysis and Forecast",
                    publisher=outlet, language="en")
               for i, (subject, outlet) in enumerate([("Seaweed Packaging", "MarketWire"),
                                                      ("Drone Delivery", "PressDesk"), ("Smart Mirror", "MarketWire")])]
    # bare headlines (too few marks to judge) alike in the template's words: similarity alone lumps them...
    assert [a.leader for a in cluster_items(elsewhere + reports, ClusterOptions(topic_share=0.0))][4:] == [10, 10, 10]
    # ...but words that many open stories share do not make two items alike
    assert [a.leader for a in cluster_items(elsewhere + reports)][4:] == [10, 11, 12]
    assert [a.leader for a in cluster_items(elsewhere + reports)][:4] == [1, 2, 3, 4]


def test_an_item_refused_by_the_joining_test_is_not_merged_in_by_the_merge_test() -> None:
    group = [Item(1, 0, "City council approves new budget for parks", publisher="Daily"),
             Item(2, 60, "Council approves budget for city parks", publisher="Herald")]
    item = Item(3, 120, "Oakvale council budget: mayor Brannigan vetoes Quillfield parks plan", publisher="Post")
    assert [a.leader for a in cluster_items(group + [item])] == [1, 1, 3]  # its four marks: none shared
    lone, bare = Evidence(), Evidence()
    lone.add({"oakvale", "brannigan", "vetoe", "quillfield"}, (), "Post")
    bare.add((), (), "Daily")
    bare.add((), (), "Herald")
    assert supports_merge(lone, bare, 0.25, ClusterOptions())  # (one side too bare to judge: similarity decides)


def test_names_are_capitalised_words_that_do_not_open_a_sentence() -> None:
    title = "Apple buys Seattle-based startup Xnor.ai for about two hundred million"
    assert name_terms(title, "The deal, says GeekWire, is done.") == {"seattle", "xnor", "ai", "geekwire"}
    assert name_terms("Apple Acquires Artificial Intelligence Company Xnor.ai") == set()  # title case
    assert name_terms("", "Southern Co-op said on Monday it would appeal. It did.") == {"southern", "coop"}
    assert name_terms("", "Reported on Monday, January 6 2020.") == set()  # days and months are not names
