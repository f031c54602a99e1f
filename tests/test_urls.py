"""URL identity: normal forms, story keys, alias kinds and bad URLs (table-driven)."""

from __future__ import annotations

import pytest

from tracker.errors import UrlError
from tracker.urls import make_alias, normalize_url, story_key, unwrap_cdn_amp

STORY = "https://www.example.com/news/2020/01/facial-recognition-ban.html"
STORY_KEY = "example.com/news/2020/01/facial-recognition-ban.html"

# (raw URL, expected normal form)
NORMAL_FORMS = [
    ("HTTPS://WWW.EXAMPLE.COM/news/2020/01/facial-recognition-ban.html", STORY),
    ("https://WWW.Example.Com/news/2020/01/facial-recognition-ban.html", STORY),
    ("https://www.example.com:443/news/2020/01/facial-recognition-ban.html", STORY),
    ("http://www.example.com:80/news/x.html", "http://www.example.com/news/x.html"),
    ("http://www.example.com:8080/news/x.html", "http://www.example.com:8080/news/x.html"),
    (STORY + "#comments", STORY),
    (STORY + "?utm_source=twitter&utm_medium=social&utm_campaign=share", STORY),
    (STORY + "?fbclid=IwAR0abc", STORY),
    (STORY + "?gclid=EAIaIQ&msclkid=1&mc_cid=2&mc_eid=3&_ga=4", STORY),
    (STORY + "?UTM_Source=x&utm_content=y", STORY),
    (STORY + "?id=5&utm_source=rss", STORY + "?id=5"),
    (STORY + "?b=2&a=1", STORY + "?a=1&b=2"),
    ("  " + STORY + "  ", STORY),
    # path case is meaningful: kept
    ("https://www.example.com/News/Story.html", "https://www.example.com/News/Story.html"),
]


@pytest.mark.parametrize(("raw", "expected"), NORMAL_FORMS)
def test_normal_form(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


# (raw URL, expected kind): every one of these is an alias of STORY (same story key).
ALIASES_OF_STORY = [
    (STORY, "web"),
    ("http://www.example.com/news/2020/01/facial-recognition-ban.html", "web"),
    ("https://example.com/news/2020/01/facial-recognition-ban.html", "web"),
    ("https://m.example.com/news/2020/01/facial-recognition-ban.html", "web"),
    (STORY + "/", "web"),
    (STORY + "?utm_source=newsletter#top", "web"),
    ("https://amp.example.com/news/2020/01/facial-recognition-ban.html", "amp"),
    ("https://www.example.com/amp/news/2020/01/facial-recognition-ban.html", "amp"),
    ("https://www.example.com/news/2020/01/facial-recognition-ban.html/amp/", "amp"),
    ("https://www.example.com/news/2020/01/facial-recognition-ban.amp.html", "amp"),
    ("https://www.example.com/google-amp/news/2020/01/facial-recognition-ban.html", "amp"),
    (STORY + "?outputType=amp", "amp"),
    (STORY + "?amp=1", "amp"),
    (STORY + "?amp=true", "amp"),
    (STORY + "?amp_markup=1", "amp"),
    ("https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/2020/01/"
     "facial-recognition-ban.html", "cdn_amp"),
    ("https://amp-example-com.cdn.ampproject.org/c/s/amp.example.com/news/2020/01/"
     "facial-recognition-ban.html", "cdn_amp"),
    ("https://www-example-com.cdn.ampproject.org/v/s/www.example.com/news/2020/01/"
     "facial-recognition-ban.html?amp_js_v=0.1", "cdn_amp"),
    ("https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/2020/01/"
     "facial-recognition-ban.html?outputType=amp", "cdn_amp"),
]


@pytest.mark.parametrize(("raw", "kind"), ALIASES_OF_STORY)
def test_alias_has_the_story_key_and_kind(raw: str, kind: str) -> None:
    alias = make_alias(raw)
    assert alias.key == STORY_KEY
    assert alias.kind == kind
    assert alias.url == normalize_url(raw)


# Real alias sets from ../shared/seeds: each row's URLs name one story.
REAL_ALIAS_SETS = [
    ("https://www.scmp.com/tech/article/3112836/facial-recognition-toilet-paper-dispensers-"
     "china-put-hold-privacy-concerns",
     "https://amp.scmp.com/tech/article/3112836/facial-recognition-toilet-paper-dispensers-"
     "china-put-hold-privacy-concerns",
     "https://amp-scmp-com.cdn.ampproject.org/c/s/amp.scmp.com/tech/article/3112836/facial-"
     "recognition-toilet-paper-dispensers-china-put-hold-privacy-concerns"),
    ("https://thenextweb.com/neural/2020/12/11/privacy-advocates-poop-on-uk-supermarkets-facial-"
     "recognition-system/",
     "https://thenextweb.com/neural/2020/12/11/privacy-advocates-poop-on-uk-supermarkets-facial-"
     "recognition-system/amp/",
     "https://thenextweb-com.cdn.ampproject.org/c/s/thenextweb.com/neural/2020/12/11/privacy-"
     "advocates-poop-on-uk-supermarkets-facial-recognition-system/amp/"),
    ("https://www.chicagotribune.com/featured/sns-nyt-police-facial-recognition-falls-short-"
     "20200113-r34opkrnrbhhhhidghgifh64cu-story.html",
     "https://www.chicagotribune.com/featured/sns-nyt-police-facial-recognition-falls-short-"
     "20200113-r34opkrnrbhhhhidghgifh64cu-story.html?outputType=amp",
     "https://www-chicagotribune-com.cdn.ampproject.org/c/s/www.chicagotribune.com/featured/sns-"
     "nyt-police-facial-recognition-falls-short-20200113-r34opkrnrbhhhhidghgifh64cu-story.html"
     "?outputType=amp"),
]


# One article of a platform whose paths end in /<id>.article, under a changed slug and a moved section
NUMBERED_ARTICLE = (
    "https://www.complianceweek.com/financial-services/six-strategies-for-fintech-adoption-in-banking/28338.article",
    "https://www.complianceweek.com/financial-services/six-strategies-for-fintech-adoption/28338.article",
    "https://complianceweek.com/risk-management/six-strategies-for-fintech-adoption-in-banking/28338.article/",
)


def test_numbered_article_paths_share_a_key_whatever_the_slug() -> None:
    assert {story_key(url) for url in NUMBERED_ARTICLE} == {"complianceweek.com/28338.article"}


@pytest.mark.parametrize("urls", REAL_ALIAS_SETS)
def test_real_alias_sets_share_a_key(urls: tuple[str, ...]) -> None:
    aliases = [make_alias(url) for url in urls]
    assert len({a.key for a in aliases}) == 1
    assert [a.kind for a in aliases] == ["web", "amp", "cdn_amp"]


def test_declared_kind_is_kept_unless_amp_is_detected() -> None:
    assert make_alias(STORY, "original").kind == "original"
    assert make_alias("https://amp.example.com/news/x.html", "web").kind == "amp"


def test_cdn_amp_unwrapping() -> None:
    assert unwrap_cdn_amp("https://www-bbc-co-uk.cdn.ampproject.org/c/s/www.bbc.co.uk/news/amp/"
                          "technology-51108767") == "https://www.bbc.co.uk/news/amp/technology-51108767"
    assert unwrap_cdn_amp("https://example-com.cdn.ampproject.org/c/example.com/a.html") == \
        "http://example.com/a.html"
    assert unwrap_cdn_amp(STORY) is None


# Pairs of different stories: their keys must differ.
DIFFERENT_STORIES = [
    ("https://www.example.com/news/1.html", "https://www.example.com/news/2.html"),
    ("https://www.example.com/?p=123", "https://www.example.com/?p=124"),
    ("https://www.example.com/article?id=5", "https://www.example.com/article?id=6"),
    ("https://www.example.com/news/x.html", "https://www.example.org/news/x.html"),
    ("https://news.example.com/x.html", "https://sport.example.com/x.html"),
    ("https://www.example.com/News/X.html", "https://www.example.com/news/x.html"),
    ("https://www.theguardian.com/technology/amp-tech", "https://www.theguardian.com/technology/tech"),
    ("https://example.com/ampere/x", "https://example.com/x"),
    ("https://www.example.com:8080/x.html", "https://www.example.com/x.html"),
    # the /<id>.article rule: another id, another host, or a number that is not that form
    ("https://www.complianceweek.com/news/slug/28338.article", "https://www.complianceweek.com/news/slug/28339.article"),
    ("https://www.complianceweek.com/news/slug/28338.article", "https://www.chemistryworld.com/news/slug/28338.article"),
    ("https://www.example.com/news/slug/28338.html", "https://www.example.com/video/slug/28338.html"),
    ("https://www.example.com/news/28338", "https://www.example.com/video/28338"),
    ("https://www.example.com/news/slug/28338.articles", "https://www.example.com/video/slug/28338.articles"),
    ("https://www.reuters.com/article/us-eu-ai-idUSKBN1ZF2QL",
     "https://www.reuters.com/article/us-uber-self-driving-idUSKBN1ZM2PH"),
]


@pytest.mark.parametrize(("first", "second"), DIFFERENT_STORIES)
def test_different_articles_do_not_share_a_key(first: str, second: str) -> None:
    assert story_key(first) != story_key(second)


BAD_URLS = [
    ("ftp://example.com/file.txt", "http and https"),
    ("mailto:editor@example.com", "http and https"),
    ("javascript:alert(1)", "http and https"),
    ("example.com/news/x.html", "http and https"),
    ("//example.com/news/x.html", "http and https"),
    ("https:///news/x.html", "host"),
    ("http://", "host"),
    ("https://localhost/x", "host"),
    ("https://exa mple.com/x", "host"),
    ("https://example.com:99999/x", "cannot be parsed"),
    ("https://example.com:abc/x", "cannot be parsed"),
    ("https://example.com/a\nb", "control"),
    ("https://example.com/a\tb", "control"),
    ("https://example.com/a\x00b", "control"),
    ("https://example.com/" + "a" * 5000, "longer"),
    ("", "empty"),
    ("   ", "empty"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD_URLS)
def test_bad_urls_raise_url_error(raw: str, reason: str) -> None:
    """The error names the URL and why it was refused, in our words: a library's wording of the
    same refusal changes between its releases (w3lib 2.6 words a bad host differently)."""
    with pytest.raises(UrlError, match=reason) as caught:
        make_alias(raw)
    if raw.strip() and reason != "control":  # control characters are shown escaped (repr)
        assert raw.strip()[:60] in str(caught.value)


@pytest.mark.parametrize("value", [None, 42, ["https://example.com/"], {"url": STORY}])
def test_non_strings_raise_url_error(value: object) -> None:
    with pytest.raises(UrlError):
        normalize_url(value)  # type: ignore[arg-type]


def test_user_and_password_never_stay_in_a_stored_url() -> None:
    from tracker.urls import make_alias

    assert make_alias("https://user:secret@News.example/a.html?id=1").url == "https://news.example/a.html?id=1"
    assert make_alias("http://user@news.example:8080/a").url == "http://news.example:8080/a"
