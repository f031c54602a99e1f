"""How stored values are shown: hosts in ASCII, lists as text, copies folded, neighbour terms."""

from __future__ import annotations

from tracker.serve.present import (ascii_url, fold_duplicates, host_label, is_idn_url, list_text,
                             neighbour_terms)


def test_hosts_show_their_ascii_form_first() -> None:
    assert host_label("bücher.example") == "xn--bcher-kva.example (bücher.example)"
    assert host_label("xn--bcher-kva.example") == "xn--bcher-kva.example (bücher.example)"
    assert host_label("xn--80ak6aa92e.com") == "xn--80ak6aa92e.com (аррӏе.com)"  # not apple.com
    assert host_label("bbc.co.uk") == "bbc.co.uk"
    assert is_idn_url("https://bücher.example/a") and is_idn_url("http://xn--bcher-kva.example/")
    assert not is_idn_url("https://bbc.co.uk/news") and not is_idn_url("javascript:alert(1)")
    assert ascii_url("https://bücher.example:8443/a?b=c") == "https://xn--bcher-kva.example:8443/a?b=c"


def test_lists_read_as_text() -> None:
    assert list_text('["Sky", "Tech Digest"]') == "Sky; Tech Digest"
    assert list_text("Sky") == "Sky" and list_text(None) is None and list_text("[not json") == "[not json"


def test_copies_fold_under_their_original_in_the_same_story() -> None:
    rows = [{"article_id": 1, "duplicate_of": None}, {"article_id": 2, "duplicate_of": 1},
            {"article_id": 3, "duplicate_of": 99}, {"article_id": 4, "duplicate_of": 1}]
    folded = [(row["article_id"], [c["article_id"] for c in copies]) for row, copies in fold_duplicates(rows)]
    assert folded == [(1, [2, 4]), (3, [])]  # a copy of an article elsewhere stays an entry


def test_neighbour_terms_are_the_distinctive_words() -> None:
    assert neighbour_terms("Google CEO Sundar Pichai calls for regulation of AI in 2020") == [
        "regulation", "google", "pichai", "sundar", "calls", "ceo"]


def test_amounts_read_with_their_currency_and_downloads_are_named_after_the_story() -> None:
    from tracker.serve.present import download_name, money

    assert money(14542040.24, "GBP") == "14,542,040.24 GBP" and money(7_500_000.0, "EUR") == "7,500,000 EUR"
    assert money(None, "GBP") is None and money(True, "GBP") is None and money(12, None) == "12"
    assert download_name("story", 42, "ICO fines Clearview AI £7.5m") == "story-42-ico-fines-clearview-ai-7-5m.csv"
    assert download_name("story", 7, "Ärger über Überwachung") == "story-7-arger-uber-uberwachung.csv"
    assert download_name("story", 9, None) == "story-9.csv"
    long = download_name("story", 1, "word " * 40)
    assert len(long) <= len("story-1-.csv") + 60 and long.endswith("-word.csv")


def test_the_attention_chart_draws_every_week_and_escapes_the_searches() -> None:
    from tracker.serve.attention import top_outlets, weekly_chart, weeks_between

    assert weeks_between("2022-05-02", "2022-05-23") == ["2022-05-02", "2022-05-09", "2022-05-16", "2022-05-23"]
    rows = [{"week": "2022-05-02", "search": "<b>GDPR</b>", "articles": 4},
            {"week": "2022-05-23", "search": "<b>GDPR</b>", "articles": 2}]
    svg = weekly_chart(rows, ["<b>GDPR</b>"])
    assert "&lt;b&gt;GDPR&lt;/b&gt;" in svg and "<b>" not in svg
    points = svg.split('points="')[1].split('"')[0].split()
    assert len(points) == 4 and points[1].split(",")[1] == points[2].split(",")[1]  # empty weeks at 0
    assert weekly_chart([], ["x"]) == ""
    outlets = top_outlets([{"search": "a", "publisher": "BBC", "n": 3}, {"search": "a", "publisher": "Sky", "n": 1}],
                          per_search=1)
    assert outlets == {"a": [("BBC", 3)]}
