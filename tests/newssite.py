"""A local HTTP server that plays news sites, for the crawler's tests.

Run it as ``python tests/newssite.py [--port 0] [--crawl-delay 1]``: the first line on stdout is the
base URL (``http://127.0.0.1:PORT``), then it serves until killed. Stdlib only, threaded, so a slow
page never blocks the others. ``tests/newssite_fixture.py`` wraps it in a session fixture.

Every path it plays is listed in ``SITE_MAP`` (path -> ``Case(kind, plays)``) so crawler tests can
iterate over it. Kinds: ``article`` (a good page to store), ``robots``, ``blocked`` (robots.txt
disallows it), ``redirect``, ``redirect-bad`` (loop, non-http scheme or private address: must not be
followed), ``error``, ``flaky``, ``slow``, ``broken``, ``huge``, ``bomb``, ``charset``, ``file``,
``amp``, ``duplicate``, ``conditional``, ``changing``, ``index``, ``feed``, ``feed-bad`` (a broken
or hostile feed: one recorded error, never a stopped run), ``sitemap``, ``listing`` and ``control``.

Query parameters that tune a case (all optional):
  /slow/page.html?delay=S        seconds before answering (default 30)
  /gen/N.html?delay=S            seconds before answering (default 0)
  /slow/drip.html?delay=S        seconds over which the body trickles out (default 30)
  /flaky/500-then-200.html?fail=N   first N requests get 500 (default 1)
  /flaky/429.html?fail=N&retry_after=S   first N requests get 429 (default 1, Retry-After 1)
  /huge/page.html?mb=N, /huge/declared.html?mb=N   body size (defaults 50 and 100)
  /bomb/page.html?mb=N           decompressed size (default 1024)
  /redirect/chain/N              N hops before /news/ok-1.html (for redirect limits)
  /feeds/huge.xml?mb=N           feed size (default 50)
  /feeds/many.xml?items=N        items in the feed (default 100000)
  /bench/feed/N.xml?items=K      a feed of K generated articles (default 50), ETag per (N, K)

Control endpoints (never counted as hits; GET or POST):
  /__hits                 {"counts": {path: n}, "last_headers": {path: {header: value}}}
  /__hits?path=P          {"path": P, "count": n, "last_headers": {...} or null}
  /__log                  [{"time", "method", "path", "query", "status", "user_agent"}, ...] in order
  /__bump?path=P          next version of a changing page -> {"path": P, "version": v}
  /__config?crawl_delay=S robots.txt Crawl-delay from now on (default from --crawl-delay, 1)
  /__reset                clear counters, log, headers, versions and config

Counters are per path without the query string: ``/flaky/429.html?fail=2`` and ``/flaky/429.html``
share one counter.
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import random
import socket
import struct
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, NamedTuple
from urllib.parse import parse_qs, urlsplit

SITE_NAME = "The Privacy Ledger"
MIB = 1 << 20
CHUNK = 64 * 1024


class Case(NamedTuple):
    """What one path plays: a kind (see module docstring) and a sentence for humans."""

    kind: str
    plays: str


SITE_MAP: dict[str, Case] = {
    "/": Case("index", "home page linking the good articles (and a disallowed link)"),
    "/news/": Case("index", "same listing as the home page"),
    "/sitemap.xml": Case("index", "XML sitemap of the good articles"),
    "/robots.txt": Case("robots", "Disallow: /private/ and Crawl-delay for all agents; BadBot banned"),
    "/private/page.html": Case("blocked", "disallowed by robots.txt: must never be fetched"),
    "/news/ok-1.html": Case("article", "supermarket facial recognition trial"),
    "/news/ok-2.html": Case("article", "GDPR fine against a ride-hailing app"),
    "/news/ok-3.html": Case("article", "location data broker settles with the FTC"),
    "/news/ok-4.html": Case("article", "keystroke monitoring fine at a logistics firm"),
    "/news/ok-5.html": Case("article", "police live facial recognition vans and the AI Act"),
    "/news/ok-6.html": Case("article", "children's privacy bill advances in committee"),
    "/gen/<n>.html": Case("article", "generated distinct article number n (any integer)"),
    "/redirect/a": Case("redirect", "301 (absolute Location) -> /redirect/b"),
    "/redirect/b": Case("redirect", "302 (path Location) -> /redirect/c"),
    "/redirect/c": Case("redirect", "307 (relative Location) -> /news/redirected.html"),
    "/news/redirected.html": Case("article", "cookie banner guidance: the end of the redirect chain"),
    "/redirect/moved.html": Case("redirect", "308 -> /news/ok-2.html"),
    "/redirect/chain/<n>": Case("redirect", "n more 302 hops, then /news/ok-1.html"),
    "/loop/a": Case("redirect-bad", "302 -> /loop/b"),
    "/loop/b": Case("redirect-bad", "302 -> /loop/a"),
    "/redirect/ftp": Case("redirect-bad", "302 -> ftp://127.0.0.1/pub/report.txt"),
    "/redirect/file": Case("redirect-bad", "302 -> file:///etc/passwd"),
    "/redirect/metadata": Case("redirect-bad", "302 -> http://169.254.169.254/latest/meta-data/"),
    "/redirect/metadata-decimal": Case("redirect-bad", "302 -> http://2852039166/latest/meta-data/"),
    "/redirect/private-ip": Case("redirect-bad", "302 -> http://10.0.0.1/admin"),
    "/redirect/internal-name": Case("redirect-bad", "302 -> http://metadata.google.internal/"),
    "/gone/404.html": Case("error", "404 Not Found"),
    "/gone/410.html": Case("error", "410 Gone"),
    "/flaky/500-then-200.html": Case("flaky", "500 for the first request(s), then an article"),
    "/flaky/503.html": Case("error", "503 always (Retry-After: 1)"),
    "/flaky/429.html": Case("flaky", "429 with Retry-After: 1 first, then an article"),
    "/slow/page.html": Case("slow", "answers after ?delay seconds (default 30)"),
    "/slow/drip.html": Case("slow", "headers at once, body trickles over ?delay seconds"),
    "/broken/drop.html": Case("broken", "Content-Length 20000, ~1 KB sent, then the socket closes"),
    "/broken/reset.html": Case("broken", "connection reset (RST) before any response byte"),
    "/broken/empty.html": Case("broken", "connection closed cleanly before any response byte"),
    "/huge/page.html": Case("huge", "~50 MB of HTML streamed, no Content-Length (EOF-delimited)"),
    "/huge/declared.html": Case("huge", "Content-Length: 100 MB declared up front, then streamed"),
    "/bomb/page.html": Case("bomb", "Content-Encoding: gzip, ~1 MB that inflates to ~1 GB"),
    "/charset/missing.html": Case("charset", "windows-1252 body, no charset in header, meta has it"),
    "/charset/lying.html": Case("charset", "header says utf-8, body bytes are windows-1252, no meta"),
    "/charset/latin1-no-meta.html": Case("charset", "latin-1 body with no declaration at all"),
    "/files/report.pdf": Case("file", "a tiny one-page application/pdf"),
    "/news/story.html": Case("article", "smart doorbell story; links rel=amphtml"),
    "/amp/story.html": Case("amp", "AMP version, <link rel=canonical href=/news/story.html>"),
    "/dup/one.html": Case("duplicate", "period-tracking app story, no canonical link"),
    "/dup/two.html": Case("duplicate", "byte-identical to /dup/one.html"),
    "/dup/with-canonical.html": Case("duplicate", "same story with canonical -> /dup/one.html"),
    "/cond/etag.html": Case("conditional", "ETag, Last-Modified; 304 on If-None-Match/-Modified-Since"),
    "/changing/page.html": Case("changing", "text and ETag change after /__bump; 304 support"),
    "/feeds/rss.xml": Case("feed", "RSS 2.0 of ok-1..ok-3 (one relative link); ETag, 304; /__bump adds ok-4"),
    "/feeds/atom.xml": Case("feed", "Atom feed of ok-5 and ok-6"),
    "/feeds/malformed.xml": Case("feed-bad", "RSS cut off mid-element: one item (redirected) recoverable"),
    "/feeds/laughs.xml": Case("feed-bad", "billion laughs: nested entity declarations"),
    "/feeds/huge.xml": Case("feed-bad", "~50 MB of RSS items streamed, no Content-Length"),
    "/feeds/many.xml": Case("feed-bad", "RSS with 100,000 items (/gen/<n>.html)"),
    "/feeds/html.xml": Case("feed-bad", "the home page's HTML, served as text/html at a feed's URL"),
    "/feeds/dates.xml": Case("feed-bad", "one item dated 2099, one undated, one dated normally"),
    "/sitemaps/news.xml": Case("sitemap", "news sitemap (news: extension) of ok-2 and /news/story.html"),
    "/sitemaps/index.xml": Case("sitemap", "sitemap index listing /sitemaps/news.xml and itself"),
    "/regulator/news/": Case("listing", "a regulator's news page: press releases and other links"),
    "/regulator/press/<n>.html": Case("article", "a regulator's press release n (1-3): a fine"),
    "/bench/feed/<n>.xml": Case("feed", "generated feed of ?items=K /gen/ articles; ETag, 304"),
    "/__hits": Case("control", "hit counts and last request headers per path"),
    "/__log": Case("control", "every request in order"),
    "/__bump": Case("control", "?path=P: next version of a changing page"),
    "/__config": Case("control", "?crawl_delay=S"),
    "/__reset": Case("control", "clear all state"),
}


# --- Articles ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    """One news story; rendered to a full page by ``render_article``."""

    headline: str
    description: str
    author: str
    published: str  # ISO 8601
    paragraphs: tuple[str, ...]
    section: str = "Regulation"


ARTICLES: dict[str, Article] = {
    "ok-1": Article(
        headline="Supermarket chain pauses facial recognition trial after regulator questions",
        description="Brightlane Supermarkets halts live face scanning at twelve stores while the "
        "Information Commissioner's Office examines the scheme.",
        author="Maya Okonkwo",
        published="2025-01-06T08:30:00+00:00",
        paragraphs=(
            "Brightlane Supermarkets has paused a live facial recognition trial in twelve of its "
            "stores after the Information Commissioner's Office asked the retailer to explain how "
            "shoppers' faces were being compared against a private watchlist.",
            "The cameras, installed at entrances last autumn, scanned every customer and flagged "
            "anyone matching a list of people the chain accused of shoplifting or abusive "
            "behaviour. Staff received an alert on a handheld device within seconds.",
            "Campaigners at the civil liberties group Open Rights Watch said that nobody had been "
            "told how a person could end up on the list, how long their biometric template would "
            "be kept, or how to challenge a wrongful match at the till.",
            "A spokesperson for Brightlane said the company had carried out a data protection "
            "impact assessment and that images of people who did not match were deleted "
            "immediately. The retailer said it would cooperate fully with the regulator.",
            "Lawyers note that biometric data used to identify individuals is special category "
            "data under the UK GDPR, so the chain must show a substantial public interest "
            "condition, not merely a commercial wish to cut shrinkage.",
            "The regulator is expected to decide within three months whether to issue an "
            "enforcement notice. Two other grocers running similar pilots have quietly switched "
            "their systems off in the meantime.",
        ),
    ),
    "ok-2": Article(
        headline="Dutch regulator fines ride-hailing app 9 million euros over driver data transfers",
        description="The Autoriteit Persoonsgegevens says Zippa moved drivers' identity documents "
        "and location histories to servers abroad without adequate safeguards.",
        author="Pieter van Dam",
        published="2025-01-14T10:00:00+01:00",
        paragraphs=(
            "The Dutch data protection authority has fined the ride-hailing company Zippa 9 "
            "million euros for sending European drivers' personal data to its parent company's "
            "servers outside the European Economic Area for more than two years.",
            "Investigators found that copies of passports, taxi licences, criminal record "
            "certificates and precise location histories were stored in a data centre abroad "
            "after the company stopped relying on standard contractual clauses.",
            "The complaint was brought by a union representing more than a hundred and seventy "
            "drivers in France and the Netherlands, who said they had never been told where "
            "their records ended up or who could read them.",
            "Zippa said it disagreed with the decision and would appeal. The company argued that "
            "the transfers were necessary to run a single global dispatch platform and that the "
            "data was encrypted at rest.",
            "The authority's chair said encryption did not help when the importing company held "
            "the keys and could be compelled by foreign agencies to hand them over, echoing the "
            "reasoning of the Court of Justice in the Schrems II judgment.",
            "It is the largest penalty the Dutch regulator has imposed on a transport company, "
            "and the decision was coordinated with other authorities through the European Data "
            "Protection Board's cooperation procedure.",
        ),
    ),
    "ok-3": Article(
        headline="Location data broker agrees to stop selling visits to clinics and shelters",
        description="Locatrix settles with the Federal Trade Commission and must delete "
        "historical location data gathered from mobile apps.",
        author="Dana Whitfield",
        published="2025-02-03T14:15:00-05:00",
        paragraphs=(
            "Locatrix, a broker that buys location signals from thousands of mobile apps, has "
            "agreed to stop selling data that reveals visits to reproductive health clinics, "
            "places of worship and domestic violence shelters, the Federal Trade Commission said.",
            "According to the complaint, the company sold feeds that could be tied to individual "
            "devices and then to home addresses, letting buyers follow a person from their "
            "bedroom to a doctor's waiting room and back.",
            "Under the proposed order, Locatrix must delete the historical data it collected "
            "without verifying consent, build a list of sensitive locations to exclude, and let "
            "consumers ask which companies received information about them.",
            "Commissioners voted three to one to accept the settlement. The dissenting "
            "commissioner wrote that the agency was stretching its authority over unfair "
            "practices to write privacy rules that Congress had never passed.",
            "Privacy advocates welcomed the order but pointed out that dozens of similar brokers "
            "remain active. They urged state legislatures to follow Washington's health data law, "
            "which requires consent before such information is collected.",
            "Locatrix did not admit wrongdoing. In a statement, the company said it had already "
            "invested in new consent checks and looked forward to setting an example for "
            "responsible data practices across the industry.",
        ),
    ),
    "ok-4": Article(
        headline="French watchdog fines logistics firm for logging warehouse workers' keystrokes",
        description="CNIL says constant keystroke and idle-time tracking at Parcelis was "
        "excessive and imposes a 1.2 million euro penalty.",
        author="Claire Aubert",
        published="2025-02-11T09:45:00+01:00",
        paragraphs=(
            "France's data protection authority, the CNIL, has fined the logistics company "
            "Parcelis 1.2 million euros for monitoring warehouse staff so closely that every "
            "pause of more than ten minutes on a handheld scanner was logged as idle time.",
            "The regulator said the company also recorded keystrokes on office computers used by "
            "dispatchers, kept the logs for three years and used them to rank employees in "
            "monthly performance reviews without telling them.",
            "Inspectors visited two sites near Lyon and Lille after several complaints from "
            "employees and a report in the regional press. The works council said it had never "
            "been consulted before the software was rolled out.",
            "Parcelis argued that the indicators were needed to plan stock movements and to "
            "protect workers from overload. The CNIL accepted that aggregate statistics could be "
            "legitimate but said individual minute-by-minute tracking went too far.",
            "Employment lawyers said the decision would be read closely by companies that "
            "adopted productivity software during the pandemic, many of which record screenshots "
            "and application usage by default.",
            "The company has two months to bring its systems into line or face a daily penalty. "
            "It has not said whether it will challenge the fine before the Conseil d'Etat.",
        ),
    ),
    "ok-5": Article(
        headline="Police expand live facial recognition vans as AI Act limits loom",
        description="Forces deploy more camera vans on high streets while European rules restrict "
        "real-time biometric identification in public spaces.",
        author="Tom Ellery",
        published="2025-02-20T07:00:00+00:00",
        paragraphs=(
            "Police forces in England have doubled the number of vans equipped with live facial "
            "recognition cameras, parking them on busy shopping streets and outside railway "
            "stations to look for people on watchlists.",
            "Officers say the technology has led to hundreds of arrests for offences ranging from "
            "shoplifting to serious assault, and that the system's false alert rate has fallen "
            "sharply since the algorithm was retrained last year.",
            "Across the Channel, the European Union's Artificial Intelligence Act bans real-time "
            "remote biometric identification in publicly accessible spaces for law enforcement, "
            "apart from narrow exceptions that require prior judicial authorisation.",
            "Civil society groups have asked Parliament to put the practice on a statutory "
            "footing, arguing that police currently rely on a patchwork of common law powers, "
            "data protection rules and guidance that was never designed for mass scanning.",
            "A Home Office minister told MPs that a consultation on a new legal framework would "
            "open in the spring, but declined to say whether it would include an independent "
            "oversight body with the power to halt deployments.",
            "Academics who observed several operations reported that signs warning the public "
            "were often placed only a few metres from the cameras, giving passers-by little real "
            "chance to avoid being scanned.",
        ),
    ),
    "ok-6": Article(
        headline="Senate committee advances children's online privacy bill",
        description="The bill would ban targeted advertising to minors and require a 'delete "
        "button' for data collected from teenagers.",
        author="Rosa Delgado",
        published="2025-03-04T16:20:00-05:00",
        paragraphs=(
            "A Senate committee voted on Tuesday to advance a bill that would ban targeted "
            "advertising to anyone under seventeen and extend existing children's privacy rules "
            "to cover teenagers for the first time.",
            "The measure would require platforms to offer an eraser button allowing young users "
            "and their parents to delete personal information, and it would forbid collecting "
            "data from minors without consent for purposes beyond providing the service.",
            "Supporters on both sides of the aisle cited internal research from social media "
            "companies showing that recommendation systems pushed harmful content to vulnerable "
            "teenagers who had searched for dieting advice.",
            "Industry groups said the bill's knowledge standard was vague and could push "
            "companies to verify the ages of all users, which would itself mean collecting more "
            "identity documents and biometric estimates from adults.",
            "The bill now heads to the full Senate, where similar proposals have stalled in "
            "previous sessions. Its sponsors said they had secured a commitment for floor time "
            "before the summer recess.",
        ),
    ),
    "redirected": Article(
        headline="Regulator publishes new guidance on cookie consent banners",
        description="Rejecting cookies must be as easy as accepting them, the guidance says, "
        "and pre-ticked boxes are out.",
        author="Ingrid Solberg",
        published="2025-03-12T11:00:00+01:00",
        paragraphs=(
            "Website operators must make rejecting non-essential cookies as easy as accepting "
            "them, according to new guidance published by the Norwegian data protection "
            "authority after a two-year review of consent banners.",
            "The guidance says a reject button must appear on the first layer of the banner, "
            "with the same size and prominence as the accept button, and that closing the "
            "banner must not be treated as agreement.",
            "Investigators tested three hundred popular Norwegian websites and found that more "
            "than half set advertising cookies before the visitor had made any choice at all.",
            "Publishers warned that advertising revenue would fall if fewer readers agreed to "
            "tracking. Several said they were experimenting with contextual advertising, which "
            "targets the page rather than the person reading it.",
            "The authority said it would begin spot checks in the autumn and could order "
            "companies to change their banners within weeks, with fines for those who ignore "
            "the orders.",
        ),
    ),
    "story": Article(
        headline="Smart doorbell maker settles claims it shared footage with police without warrants",
        description="Ringtone Home will require warrants or user consent before handing video "
        "to law enforcement, except in emergencies.",
        author="Jonah Price",
        published="2025-03-18T13:05:00-04:00",
        paragraphs=(
            "The smart doorbell maker Ringtone Home has agreed to stop handing customers' video "
            "footage to police without a warrant or the owner's explicit consent, settling a "
            "class action filed by homeowners in three states.",
            "The lawsuit said the company had given officers recordings from cameras pointed at "
            "public sidewalks and neighbours' gardens on at least eleven occasions in a single "
            "year, under an emergency exception it never defined.",
            "Under the settlement, Ringtone must publish a twice-yearly transparency report "
            "listing every request it receives and explaining each emergency disclosure within "
            "thirty days of making it.",
            "Neighbourhood watch groups that relied on the company's app to share clips with "
            "local police said the change would slow down investigations into package thefts "
            "and car break-ins.",
            "Privacy researchers said the case shows how private camera networks have become an "
            "informal surveillance infrastructure that sits outside the rules governing "
            "government-operated CCTV systems.",
        ),
    ),
    "dup": Article(
        headline="Period-tracking app shared health data with advertisers, investigation finds",
        description="Cyclia sent pregnancy status and symptoms to analytics and advertising "
        "partners, according to a consumer group's technical audit.",
        author="Hannah Lowe",
        published="2025-04-01T09:00:00+00:00",
        paragraphs=(
            "The period-tracking app Cyclia sent users' pregnancy status, symptoms and mood logs "
            "to advertising and analytics partners, according to a technical audit published by "
            "a European consumer organisation.",
            "Researchers intercepted the app's network traffic on test phones and found that "
            "events such as trying to conceive were transmitted together with an advertising "
            "identifier that could be linked to other apps on the same device.",
            "Cyclia said the data was pseudonymised and that users agreed to the sharing when "
            "they accepted the privacy policy during sign-up. The company said it had removed two "
            "software development kits after being contacted by the researchers.",
            "Health data is among the most protected categories of information under European "
            "law, and consent for processing it must be explicit, specific and freely given, "
            "lawyers consulted by the consumer group said.",
            "The organisation has filed complaints with data protection authorities in four "
            "countries and asked them to order the app to stop the transfers while the cases are "
            "investigated.",
        ),
    ),
    "cond": Article(
        headline="Parliament committee hears evidence on workplace biometrics bill",
        description="Unions and employers clash over fingerprint clocking-in systems as MPs "
        "consider a ban on mandatory biometric attendance.",
        author="Grace Mensah",
        published="2025-04-09T15:30:00+01:00",
        paragraphs=(
            "A parliamentary committee heard evidence on Wednesday on a bill that would stop "
            "employers from requiring staff to clock in with fingerprints or face scans when a "
            "less intrusive alternative such as a card is available.",
            "Union representatives described warehouses and care homes where workers were told "
            "that refusing to enrol their fingerprints would be treated as a disciplinary "
            "matter, despite the law requiring consent to be freely given.",
            "Employer organisations said biometric systems had ended buddy punching, where "
            "colleagues clock in for each other, and saved small businesses thousands of pounds "
            "a year in payroll fraud.",
            "The information commissioner's deputy told the committee that the regulator had "
            "already reprimanded two leisure centre operators for scanning staff faces and that "
            "clearer legislation would make enforcement easier.",
            "The committee will publish its report in June. Ministers have said they will wait "
            "for its recommendations before deciding whether to support the bill.",
        ),
    ),
    "flaky-500": Article(
        headline="Insurer drops plan to price policies using smart speaker data",
        description="After criticism from regulators, Hearthguard abandons a pilot that used "
        "voice assistant usage patterns to set premiums.",
        author="Lena Fischer",
        published="2025-04-15T12:00:00+02:00",
        paragraphs=(
            "The home insurer Hearthguard has abandoned a pilot scheme that offered discounts to "
            "customers who let it analyse how often they used their smart speakers and connected "
            "thermostats.",
            "The company had argued that the data showed whether a house was occupied, which "
            "reduces the risk of burglary and burst pipes going unnoticed over the winter months.",
            "Consumer advocates said the scheme penalised people who could not afford connected "
            "devices and risked revealing intimate details such as when residents slept, "
            "travelled or had guests.",
            "The financial conduct regulator had written to the insurer asking how it would "
            "prevent indirect discrimination against older customers, who use voice assistants "
            "far less than younger households.",
            "Hearthguard said it remained committed to innovation but would focus on optional "
            "leak sensors whose readings are processed on the device and never leave the home.",
        ),
    ),
    "flaky-429": Article(
        headline="Airport expands biometric boarding despite opt-out concerns",
        description="Passengers say signs explaining how to avoid face scanning at the gate are "
        "hard to find.",
        author="Samir Haddad",
        published="2025-04-22T06:45:00+00:00",
        paragraphs=(
            "Northgate Airport has extended biometric boarding to all international departures, "
            "meaning passengers' faces are matched against their passport photographs at the "
            "gate instead of a boarding pass being checked by hand.",
            "The airport says the system reduces boarding times by up to a third and that "
            "templates are deleted within twenty-four hours of a flight leaving.",
            "Travellers who wish to opt out can present their documents to a member of staff, "
            "but several passengers told reporters that the option was not mentioned in any "
            "announcement and that the signs were printed in small type beside the cameras.",
            "The national aviation authority said participation must be voluntary and that it "
            "would audit the signage. A privacy group has asked for the airport's impact "
            "assessment to be published in full.",
            "Airline unions said gate staff had received little training on how to handle "
            "passengers who decline the scan, leading to confrontations during busy periods.",
        ),
    ),
    "slow": Article(
        headline="Smart city sensors in old town square prompt residents' petition",
        description="Residents want the council to publish what its new street sensors record.",
        author="Elena Novak",
        published="2025-05-02T10:10:00+02:00",
        paragraphs=(
            "More than four thousand residents have signed a petition asking the city council to "
            "explain what its new street sensors in the old town square are recording.",
            "The council says the devices count pedestrians and measure noise and air quality, "
            "and that they do not capture images. Residents point out that the procurement "
            "documents mention optional camera modules and Wi-Fi tracking.",
            "A local councillor has proposed a surveillance technology ordinance that would "
            "require public hearings before any new monitoring tool is installed.",
            "The supplier said its sensors anonymise data at the edge and transmit only "
            "aggregate counts every fifteen minutes to the city's dashboard.",
            "The council will debate the petition next month. Officials have promised to publish "
            "a register of all sensors and the data each one collects.",
        ),
    ),
    "private": Article(
        headline="Internal: staff notes on upcoming investigations",
        description="Not for crawling.",
        author="Newsroom",
        published="2025-05-05T09:00:00+00:00",
        paragraphs=(
            "This page is disallowed in robots.txt and must never be fetched by a polite crawler.",
            "If a test finds this text in the archive, robots.txt handling is broken.",
            "The newsroom keeps embargoed schedules, draft headlines and source notes here.",
            "Editors rotate the password for this area every week.",
            "Please report any accidental publication of this page to the standards desk.",
        ),
    ),
}

CHARSET_PARAGRAPHS = (
    "Le café Belle Époque a installé des caméras « intelligentes » qui comptent les clients et "
    "estiment leur âge, a révélé le journal régional.",
    "“We only wanted to know when to open the second till,” the owner said, adding that "
    "the images never leave the café’s premises.",
    "The regulator’s guidance is clear: estimating age or gender from a face is biometric "
    "processing — and it needs a lawful basis that a coffee shop will struggle to show.",
    "Customers interviewed outside said they had not noticed the stickers by the door, which "
    "read « Zone vidéoprotégée » in letters barely a centimetre high.",
    "The owner has since covered the lenses and says he will ask the préfecture for advice "
    "before switching anything back on; the cameras cost him €1,200.",
)

LATIN1_PARAGRAPHS = (
    "Die Datenschutzbehörde in München prüft, ob ein Fitnessstudio Mitgliedern den Zutritt "
    "nur noch per Gesichtserkennung erlauben darf.",
    "Mehrere Mitglieder beschwerten sich, dass ihnen keine Alternative angeboten wurde; das "
    "Studio verweist auf die höhere Sicherheit gegenüber Chipkarten.",
    "Juristen halten eine Einwilligung für fraglich, wenn der Vertrag ohne Gesichtsscan "
    "nicht nutzbar ist; die Freiwilligkeit sei dann kaum gegeben.",
    "Das Studio hat angekündigt, bis zur Entscheidung wieder Karten auszugeben. Die Behörde "
    "will ihre Prüfung im Frühjahr abschließen.",
    "Verbraucherschützer begrüßen das Verfahren und fordern klare Regeln für biometrische "
    "Zugangssysteme in Freizeiteinrichtungen.",
)

CHANGING_UPDATES = (
    "The authority said on Monday that it had opened a formal inquiry into ExamEye, the remote "
    "proctoring software used by forty schools during online exams.",
    "UPDATE: The authority has now ordered ExamEye to suspend room scans, in which pupils were "
    "asked to film their bedrooms with a webcam before each test.",
    "UPDATE: ExamEye has agreed to delete all stored room-scan videos and to offer an in-person "
    "exam option to any pupil who asks for one.",
    "UPDATE: The school board voted to end its ExamEye contract at the end of the year and to "
    "return to supervised exams in classrooms.",
)

CHANGING_BASE = (
    "Parents had complained that the software flagged pupils as suspicious for looking away "
    "from the screen, reading questions aloud or having a sibling walk into the room.",
    "The company says its algorithms only assist human invigilators and never decide on their "
    "own whether a pupil has cheated.",
    "Education unions argue that the monitoring creates stress during exams and that pupils "
    "without a quiet private room at home are disproportionately flagged.",
    "The authority's inquiry will examine whether the processing of video from inside family "
    "homes was necessary and proportionate for the purpose of preventing cheating.",
)


def changing_article(version: int) -> Article:
    """The changing page's story at ``version`` (1-based); text grows with each update."""
    updates = CHANGING_UPDATES[: min(version, len(CHANGING_UPDATES))]
    extra = () if version <= len(CHANGING_UPDATES) else (f"Revision {version} of this story.",)
    suffix = "" if version == 1 else f" (updated, version {version})"
    return Article(
        headline="Data protection authority investigates school exam proctoring software" + suffix,
        description="ExamEye's webcam monitoring of pupils at home is under scrutiny.",
        author="Oskar Lindqvist",
        published="2025-05-12T08:00:00+02:00",
        paragraphs=tuple(reversed(updates)) + CHANGING_BASE + extra,
    )


# Pools for /gen/<n>.html: each n picks its own regulator, company, topic and sentence order.
GEN_REGULATORS = (
    "the Information Commissioner's Office", "France's CNIL", "Italy's Garante",
    "Spain's AEPD", "Ireland's Data Protection Commission", "the Federal Trade Commission",
    "Norway's Datatilsynet", "the Dutch Autoriteit Persoonsgegevens", "Germany's BfDI",
    "the California Privacy Protection Agency", "Belgium's APD", "Poland's UODO",
)
GEN_COMPANIES = (
    "Aldmere Bank", "Quillion Health", "Tandem Rides", "Orbis Telecom", "Kestrel Retail",
    "Nimbus Learning", "Halcyon Insurance", "Vantage Dating", "Corvid Analytics", "Lumen Games",
    "Pellucid Energy", "Sable Logistics", "Marrow Fitness", "Juniper Media", "Tessellate AI",
)
GEN_TOPICS = (
    ("voice recordings", "recordings of customers' calls were used to train a speech model"),
    ("customer location histories", "precise location was collected every few seconds"),
    ("children's profiles", "accounts of children under thirteen were used for ad targeting"),
    ("health questionnaires", "answers about medical conditions were shared with partners"),
    ("employee emails", "managers could search staff mailboxes without any audit trail"),
    ("face templates", "biometric templates were kept long after accounts were closed"),
    ("credit scores", "automated decisions refused loans with no human review"),
    ("tracking pixels", "a pixel sent page views to a social network without consent"),
    ("leaked passwords", "a breach exposed unsalted password hashes for months"),
    ("smart meter readings", "half-hourly readings revealed when households were at home"),
)
GEN_ACTIONS = (
    ("fines", "a fine of {amount} million euros"), ("reprimands", "a formal reprimand"),
    ("orders", "an order to delete the data within sixty days"),
    ("opens inquiry into", "a formal inquiry that could lead to a fine"),
)
GEN_TEMPLATES = (
    "{Regulator} said its investigation found that at {company} {detail}.",
    "The case began in {year} after {complainants} complaints from members of the public.",
    "{company} said it disagreed with the findings and was studying the decision with its lawyers.",
    "Lawyers said the decision on {topic} was the first of its kind in {city}.",
    "A spokesperson for {company} said {topic} had been handled in line with industry practice.",
    "Consumer groups in {city} called the outcome overdue and urged others to check their "
    "accounts.",
    "The regulator's report, case number {case}, runs to {pages} pages and includes the "
    "company's response.",
    "Analysts expect other firms that process {topic} to review their own retention policies.",
)
GEN_CITIES = ("Dublin", "Paris", "Rome", "Madrid", "Oslo", "Berlin", "Warsaw", "Brussels", "Lisbon")


def generated_article(n: int) -> Article:
    """A distinct, deterministic article for ``/gen/<n>.html``."""
    rng = random.Random(n)
    regulator, company = rng.choice(GEN_REGULATORS), rng.choice(GEN_COMPANIES)
    topic, detail = rng.choice(GEN_TOPICS)
    verb, outcome = rng.choice(GEN_ACTIONS)
    slots = {
        "Regulator": regulator[0].upper() + regulator[1:], "company": company, "topic": topic,
        "detail": detail, "year": 2019 + rng.randrange(6), "complainants": rng.randrange(2, 900),
        "city": rng.choice(GEN_CITIES), "case": f"{n:05d}/{rng.randrange(100, 999)}",
        "pages": rng.randrange(12, 240),
    }
    templates = list(GEN_TEMPLATES)
    rng.shuffle(templates)
    opening = f"{slots['Regulator']} has announced {outcome} against {company} over {topic}."
    body = [opening.format(amount=rng.randrange(1, 60))] + [t.format(**slots) for t in templates]
    return Article(
        headline=f"{slots['Regulator']} {verb} {company} over {topic} (report {n})",
        description=f"{company} faces action over {topic}; case {slots['case']}.",
        author=rng.choice(("Ana Ruiz", "Ben Carter", "Chloe Martin", "Dev Patel", "Eva Berg")),
        published=f"2025-0{1 + n % 9}-{1 + n % 28:02d}T09:00:00+00:00",
        paragraphs=tuple(" ".join(body[i : i + 2]) for i in range(0, len(body), 2)),
    )


# --- Rendering --------------------------------------------------------------------------------


def json_ld(article: Article, url: str | None) -> str:
    """A NewsArticle JSON-LD script body, safe to embed in <script>."""
    data = {
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": article.headline,
        "description": article.description, "datePublished": article.published,
        "dateModified": article.published, "articleSection": article.section,
        "author": [{"@type": "Person", "name": article.author}],
        "publisher": {"@type": "Organization", "name": SITE_NAME},
    }
    if url:
        data["mainEntityOfPage"] = {"@type": "WebPage", "@id": url}
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def head_html(article: Article, url: str | None, canonical: str | None, extra: str = "") -> str:
    """The <head> contents shared by normal and AMP pages; ``url=None`` leaves out og:url."""
    e = html.escape
    links = f'<link rel="canonical" href="{e(canonical)}">\n' if canonical else ""
    og_url = canonical or url
    og_url_meta = f'<meta property="og:url" content="{e(og_url)}">\n' if og_url else ""
    return (
        f"<title>{e(article.headline)} | {SITE_NAME}</title>\n"
        f'<meta name="viewport" content="width=device-width,initial-scale=1">\n'
        f'<meta name="description" content="{e(article.description)}">\n'
        f'<meta name="author" content="{e(article.author)}">\n'
        f'<meta property="og:type" content="article">\n'
        f'<meta property="og:title" content="{e(article.headline)}">\n'
        f'<meta property="og:description" content="{e(article.description)}">\n'
        f"{og_url_meta}"
        f'<meta property="og:site_name" content="{SITE_NAME}">\n'
        f'<meta property="article:published_time" content="{article.published}">\n'
        f"{links}{extra}"
        f'<script type="application/ld+json">{json_ld(article, canonical or url)}</script>\n'
    )


def body_html(article: Article) -> str:
    """Site chrome around the article: nav, byline, paragraphs, related links and footer."""
    e = html.escape
    paragraphs = "\n".join(f"<p>{e(p)}</p>" for p in article.paragraphs)
    return (
        f'<header class="site-header"><a class="logo" href="/">{SITE_NAME}</a>\n'
        '<nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/news/ok-5.html">'
        "Surveillance</a></nav></header>\n"
        f'<main><article class="story">\n<h1>{e(article.headline)}</h1>\n'
        f'<p class="byline">By <span class="author">{e(article.author)}</span> | '
        f'<time datetime="{article.published}">{article.published[:10]}</time></p>\n'
        f"{paragraphs}\n</article>\n"
        '<aside class="related"><h2>Related stories</h2><ul>'
        '<li><a href="/news/ok-1.html">Supermarket pauses face scanning</a></li>'
        '<li><a href="/news/ok-2.html">Ride-hailing app fined</a></li></ul></aside></main>\n'
        f"<footer><p>&copy; 2025 {SITE_NAME}. All rights reserved.</p>"
        '<p><a href="/private/page.html">Staff area</a> | Subscribe to our newsletter for '
        "weekly regulation news.</p></footer>\n"
    )


def render_article(
    article: Article, url: str | None, canonical: str | None = None, charset: str | None = "utf-8",
    extra_head: str = "",
) -> str:
    """A full, realistic news page; ``charset=None`` leaves out the <meta charset>."""
    meta = f'<meta charset="{charset}">\n' if charset else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{meta}'
        f"{head_html(article, url, canonical, extra_head)}</head>\n<body>\n"
        f"{body_html(article)}</body>\n</html>\n"
    )


AMP_BOILERPLATE = (
    "<style amp-boilerplate>body{-webkit-animation:none;animation:none}</style>"
    "<noscript><style amp-boilerplate>body{animation:none}</style></noscript>\n"
    '<script async src="https://cdn.ampproject.org/v0.js"></script>\n'
)


def render_amp(article: Article, url: str, canonical: str) -> str:
    """The AMP version of a story (``<html amp>``, relative canonical link as given)."""
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
    return (
        f'<!DOCTYPE html>\n<html amp lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"{head_html(article, url, canonical, AMP_BOILERPLATE)}</head>\n<body>\n"
        f'<header><a href="/">{SITE_NAME}</a></header>\n<article>\n'
        f"<h1>{html.escape(article.headline)}</h1>\n{paragraphs}\n</article>\n</body>\n</html>\n"
    )


def render_index(base: str) -> str:
    """Home page: links to the good articles and one disallowed link."""
    items = "\n".join(
        f'<li><a href="/news/{slug}.html">{html.escape(ARTICLES[slug].headline)}</a></li>'
        for slug in ("ok-1", "ok-2", "ok-3", "ok-4", "ok-5", "ok-6")
    )
    return (
        f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{SITE_NAME}"
        f'</title><link rel="canonical" href="{base}/"></head>\n<body><h1>{SITE_NAME}</h1>\n'
        f'<ul>\n{items}\n<li><a href="/news/story.html">Smart doorbell settlement</a></li>\n'
        '</ul>\n<p><a href="/private/page.html">Staff area</a></p>\n</body></html>\n'
    )


def render_sitemap(base: str) -> str:
    """XML sitemap of the good articles."""
    urls = "".join(
        f"<url><loc>{base}/news/{slug}.html</loc></url>"
        for slug in ("ok-1", "ok-2", "ok-3", "ok-4", "ok-5", "ok-6")
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'
    )


def render_robots(base: str, crawl_delay: float) -> str:
    """robots.txt: /private/ disallowed for everyone, BadBot banned, Crawl-delay for all."""
    delay = f"{crawl_delay:g}"
    return (
        "# newssite test server\n"
        "User-agent: BadBot\nDisallow: /\n\n"
        f"User-agent: *\nDisallow: /private/\nCrawl-delay: {delay}\n\n"
        f"Sitemap: {base}/sitemap.xml\n"
    )


def error_page(status: int, title: str) -> bytes:
    """A small HTML error page."""
    return (
        f"<!DOCTYPE html><html><head><title>{status} {title}</title></head>"
        f"<body><h1>{status} {title}</h1><p>{SITE_NAME}</p></body></html>\n"
    ).encode()


def tiny_pdf() -> bytes:
    """A minimal one-page PDF with a correct xref table."""
    stream = b"BT /F1 18 Tf 72 720 Td (Annual privacy enforcement report) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


BOMB_PREFIX = b"<!DOCTYPE html>\n<html><head><title>Totally normal page</title></head><body>\n"


@functools.cache
def gzip_bomb(mib: int) -> bytes:
    """Gzip bytes inflating to BOMB_PREFIX + ``mib`` MiB of spaces (~1 KB per MiB compressed).

    Built by repeating one full-flushed deflate segment (valid because a full flush resets the
    compressor's history); only the CRC needs a pass over the data. Deterministic, so caching is safe.
    """
    block = b" " * MIB
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(BOMB_PREFIX) + compressor.flush(zlib.Z_FULL_FLUSH)
    segment = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    crc = zlib.crc32(BOMB_PREFIX)
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    size = (len(BOMB_PREFIX) + mib * MIB) & 0xFFFFFFFF
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + head + segment * mib + tail + struct.pack("<II", crc, size)


# --- State ------------------------------------------------------------------------------------

CONDITIONAL_ETAG = '"cond-v1"'
BASE_MODIFIED = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


@dataclass
class SiteState:
    """Everything the server remembers between requests; guarded by one lock."""

    default_crawl_delay: float = 1.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: dict[str, int] = field(default_factory=dict)
    last_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    crawl_delay: float | None = None

    def record(
        self, method: str, path: str, query: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """Count a request; returns its 1-based number for this path and its log entry."""
        entry = {"time": time.time(), "method": method, "path": path, "query": query,
                 "status": None, "user_agent": headers.get("User-Agent")}
        with self.lock:
            self.counts[path] = self.counts.get(path, 0) + 1
            self.last_headers[path] = headers
            self.log.append(entry)
            return self.counts[path], entry

    def set_status(self, entry: dict[str, Any], status: int) -> None:
        with self.lock:
            entry["status"] = status

    def hits(self, path: str | None) -> dict[str, Any]:
        with self.lock:
            if path is None:
                return {"counts": dict(self.counts), "last_headers": dict(self.last_headers)}
            return {"path": path, "count": self.counts.get(path, 0),
                    "last_headers": self.last_headers.get(path)}

    def log_copy(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(entry) for entry in self.log]

    def version(self, path: str) -> int:
        with self.lock:
            return self.versions.get(path, 1)

    def bump(self, path: str) -> int:
        with self.lock:
            self.versions[path] = self.versions.get(path, 1) + 1
            return self.versions[path]

    def current_crawl_delay(self) -> float:
        with self.lock:
            return self.default_crawl_delay if self.crawl_delay is None else self.crawl_delay

    def set_crawl_delay(self, delay: float) -> None:
        with self.lock:
            self.crawl_delay = delay

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.last_headers.clear()
            self.log.clear()
            self.versions.clear()
            self.crawl_delay = None


class NewsSiteServer(ThreadingHTTPServer):
    """Threaded server carrying the site state; quiet about clients hanging up."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], crawl_delay: float = 1.0) -> None:
        super().__init__(address, Handler)
        self.state = SiteState(default_crawl_delay=crawl_delay)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class HeadersOnly:
    """A wfile stand-in for HEAD: passes the first write (the header block), drops the body."""

    def __init__(self, wfile: Any) -> None:
        self.wfile, self.headers_sent = wfile, False

    def write(self, data: bytes) -> int:
        if not self.headers_sent:
            self.headers_sent = True
            return int(self.wfile.write(data))
        return len(data)

    def flush(self) -> None:
        self.wfile.flush()


# --- Handler ----------------------------------------------------------------------------------

RouteFn = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    """Dispatches each path to the case it plays (see ROUTES and PREFIX_ROUTES)."""

    server: NewsSiteServer
    protocol_version = "HTTP/1.1"
    server_version = "newssite/1.0"

    path_only: str = "/"
    query: dict[str, str]
    hit_number: int = 0
    entry: dict[str, Any] | None = None

    # -- plumbing

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Stay quiet: the fixture reads stdout and tests read /__log instead."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.entry is not None:
            self.server.state.set_status(self.entry, int(code))

    @property
    def base(self) -> str:
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return f"http://{host}"

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        self.path_only = split.path
        self.query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        self.entry = None
        if not split.path.startswith("/__"):
            headers = {k: v for k, v in self.headers.items()}
            self.hit_number, self.entry = self.server.state.record(
                self.command, split.path, split.query, headers)
        route = find_route(split.path)
        if route is None:
            self.send_body(404, error_page(404, "Not Found"))
        else:
            route(self)

    def do_POST(self) -> None:
        """Control endpoints accept POST too; the body is read (keep-alive) and ignored."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def do_HEAD(self) -> None:
        """Play the GET case but send only the status line and headers."""
        real = self.wfile
        self.wfile = HeadersOnly(real)  # type: ignore[assignment]
        try:
            self.do_GET()
        finally:  # keep-alive: the next request on this connection gets the real wfile back
            self.wfile = real

    def send_body(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
                  headers: dict[str, str] | None = None) -> None:
        """A complete response with Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_html(self, text: str, headers: dict[str, str] | None = None) -> None:
        self.send_body(200, text.encode("utf-8"), headers=headers)

    def send_json(self, data: Any) -> None:
        self.send_body(200, json.dumps(data, indent=1).encode(), "application/json")

    def redirect(self, status: int, location: str) -> None:
        body = f'<html><body><a href="{html.escape(location)}">moved</a></body></html>'.encode()
        self.send_body(status, body, headers={"Location": location})

    def qfloat(self, name: str, default: float) -> float:
        return float(self.query.get(name, default))

    def url(self) -> str:
        return self.base + self.path_only

    def article_page(self, slug: str, canonical: bool = True) -> None:
        page = render_article(ARTICLES[slug], self.url(), self.url() if canonical else None)
        self.send_html(page)

    # -- control endpoints

    def control_hits(self) -> None:
        self.send_json(self.server.state.hits(self.query.get("path")))

    def control_log(self) -> None:
        self.send_json(self.server.state.log_copy())

    def control_bump(self) -> None:
        path = self.query.get("path", "/changing/page.html")
        self.send_json({"path": path, "version": self.server.state.bump(path)})

    def control_config(self) -> None:
        if "crawl_delay" in self.query:
            self.server.state.set_crawl_delay(self.qfloat("crawl_delay", 1.0))
        self.send_json({"crawl_delay": self.server.state.current_crawl_delay()})

    def control_reset(self) -> None:
        self.server.state.reset()
        self.send_json({"reset": True})

    # -- site pages

    def index(self) -> None:
        self.send_html(render_index(self.base))

    def sitemap(self) -> None:
        self.send_body(200, render_sitemap(self.base).encode(), "application/xml")

    def robots(self) -> None:
        text = render_robots(self.base, self.server.state.current_crawl_delay())
        self.send_body(200, text.encode(), "text/plain; charset=utf-8")

    def news(self) -> None:
        slug = self.path_only.removeprefix("/news/").removesuffix(".html")
        if slug in ARTICLES and (slug.startswith("ok-") or slug == "redirected"):
            self.article_page(slug)
        else:
            self.send_body(404, error_page(404, "Not Found"))

    def private(self) -> None:
        self.article_page("private")

    def generated(self) -> None:
        number = self.path_only.removeprefix("/gen/").removesuffix(".html")
        if not number.isdigit() or not self.path_only.endswith(".html"):
            self.send_body(404, error_page(404, "Not Found"))
            return
        time.sleep(self.qfloat("delay", 0.0))  # a slow host, for politeness and scaling tests
        self.send_html(render_article(generated_article(int(number)), self.url(), self.url()))

    # -- redirects

    def redirect_a(self) -> None:
        self.redirect(301, self.base + "/redirect/b")

    def redirect_b(self) -> None:
        self.redirect(302, "/redirect/c")

    def redirect_c(self) -> None:
        self.redirect(307, "../news/redirected.html")

    def redirect_moved(self) -> None:
        self.redirect(308, "/news/ok-2.html")

    def redirect_chain(self) -> None:
        rest = self.path_only.removeprefix("/redirect/chain/")
        hops = int(rest) if rest.isdigit() else 0
        self.redirect(302, f"/redirect/chain/{hops - 1}" if hops > 0 else "/news/ok-1.html")

    def loop_a(self) -> None:
        self.redirect(302, "/loop/b")

    def loop_b(self) -> None:
        self.redirect(302, "/loop/a")

    def bad_redirect(self) -> None:
        self.redirect(302, BAD_REDIRECTS[self.path_only])

    # -- errors and flaky pages

    def gone_404(self) -> None:
        self.send_body(404, error_page(404, "Not Found"))

    def gone_410(self) -> None:
        self.send_body(410, error_page(410, "Gone"))

    def flaky_500(self) -> None:
        if self.hit_number <= int(self.qfloat("fail", 1)):
            self.send_body(500, error_page(500, "Internal Server Error"))
        else:
            self.article_page("flaky-500")

    def flaky_503(self) -> None:
        self.send_body(503, error_page(503, "Service Unavailable"), headers={"Retry-After": "1"})

    def flaky_429(self) -> None:
        if self.hit_number <= int(self.qfloat("fail", 1)):
            retry = self.query.get("retry_after", "1")
            self.send_body(429, error_page(429, "Too Many Requests"), headers={"Retry-After": retry})
        else:
            self.article_page("flaky-429")

    # -- slow and broken connections

    def slow_page(self) -> None:
        time.sleep(self.qfloat("delay", 30.0))
        self.article_page("slow")

    def slow_drip(self) -> None:
        body = render_article(ARTICLES["slow"], self.url(), self.url()).encode()
        pieces = 10
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        step = -(-len(body) // pieces)
        for start in range(0, len(body), step):
            self.wfile.write(body[start : start + step])
            self.wfile.flush()
            time.sleep(self.qfloat("delay", 30.0) / pieces)

    def broken_drop(self) -> None:
        body = render_article(ARTICLES["ok-1"], self.url()).encode()[:1000]
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", "20000")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def broken_reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def broken_empty(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    # -- huge bodies and the bomb

    def huge_page(self) -> None:
        self.stream_html(int(self.qfloat("mb", 50) * MIB), declare=False)

    def huge_declared(self) -> None:
        self.stream_html(int(self.qfloat("mb", 100) * MIB), declare=True)

    def stream_html(self, total: int, declare: bool) -> None:
        """Stream exactly ``total`` bytes of HTML in chunks; stop when the client hangs up."""
        head = render_article(ARTICLES["ok-3"], self.url()).encode().split(b"</article>")[0]
        tail = b"</article></main></body></html>\n"
        filler = b"".join(b"<p>Filler paragraph %d about data retention schedules.</p>\n" % i
                          for i in range(1200))[:CHUNK]
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if declare:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(head)
            remaining = total - len(head) - len(tail)
            while remaining > 0:
                self.wfile.write(filler[: min(remaining, CHUNK)])
                remaining -= CHUNK
            self.wfile.write(tail)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def bomb(self) -> None:
        body = gzip_bomb(int(self.qfloat("mb", 1024)))
        headers = {"Content-Encoding": "gzip"}
        self.send_body(200, body, headers=headers)

    # -- charsets, files, AMP, duplicates

    def charset_missing(self) -> None:
        article = charset_article("Café chain’s “smart” cameras estimate customers’ age",
                                  CHARSET_PARAGRAPHS)
        page = render_article(article, self.url(), self.url(), charset="windows-1252")
        self.send_body(200, page.encode("cp1252"), "text/html")

    def charset_lying(self) -> None:
        article = charset_article("Café owner’s “age-guessing” cameras switched off",
                                  CHARSET_PARAGRAPHS[::-1])
        page = render_article(article, self.url(), self.url(), charset=None)
        self.send_body(200, page.encode("cp1252"), "text/html; charset=utf-8")

    def charset_latin1(self) -> None:
        article = charset_article("Fitnessstudio prüft Zutritt nur per Gesichtserkennung",
                                  LATIN1_PARAGRAPHS)
        page = render_article(article, self.url(), self.url(), charset=None)
        self.send_body(200, page.encode("latin-1"), "text/html")

    def pdf(self) -> None:
        self.send_body(200, tiny_pdf(), "application/pdf")

    def story(self) -> None:
        extra = '<link rel="amphtml" href="/amp/story.html">\n'
        self.send_html(render_article(ARTICLES["story"], self.url(), self.url(), extra_head=extra))

    def amp_story(self) -> None:
        self.send_html(render_amp(ARTICLES["story"], self.url(), "/news/story.html"))

    def dup(self) -> None:
        # Byte-identical on both paths: no canonical, og:url or JSON-LD @id to tell them apart.
        self.send_html(render_article(ARTICLES["dup"], None))

    def dup_canonical(self) -> None:
        self.send_html(render_article(ARTICLES["dup"], self.url(), self.base + "/dup/one.html"))

    # -- conditional requests and changing pages

    def not_modified(self, etag: str, modified: datetime) -> bool:
        """RFC 9110: If-None-Match wins; otherwise compare If-Modified-Since."""
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            return modified <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False

    def conditional(self, etag: str, modified: datetime, page: str) -> None:
        headers = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True),
                   "Cache-Control": "no-cache"}
        if self.not_modified(etag, modified):
            self.send_response(304)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
        else:
            self.send_html(page, headers)

    def cond_etag(self) -> None:
        page = render_article(ARTICLES["cond"], self.url(), self.url())
        self.conditional(CONDITIONAL_ETAG, BASE_MODIFIED, page)

    def changing(self) -> None:
        version = self.server.state.version(self.path_only)
        page = render_article(changing_article(version), self.url(), self.url())
        modified = BASE_MODIFIED + timedelta(hours=version)
        self.conditional(f'"changing-v{version}"', modified, page)


    # -- discovery: feeds, news sitemaps, a regulator's listing page

    def send_xml(self, text: str | bytes, content_type: str = "application/rss+xml",
                 etag: str | None = None) -> None:
        """An XML document; with `etag`, a 304 for a request that already has it."""
        if etag and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        body = text.encode("utf-8") if isinstance(text, str) else text
        self.send_body(200, body, content_type, headers={"ETag": etag} if etag else None)

    def feed_rss(self) -> None:
        version = self.server.state.version(self.path_only)
        slugs = ["ok-1", "ok-2", "ok-3"] + (["ok-4"] if version > 1 else [])
        self.send_xml(render_rss(self.base, slugs), etag=f'"rss-v{version}"')

    def feed_atom(self) -> None:
        self.send_xml(render_atom(self.base, ["ok-5", "ok-6"]), "application/atom+xml")

    def feed_malformed(self) -> None:
        self.send_xml(render_rss(self.base, ["redirected", "ok-6"]).split("<item><title>" + html.escape(
            ARTICLES["ok-6"].headline))[0] + "<item><title>Broken &amp")

    def feed_laughs(self) -> None:
        self.send_xml(BILLION_LAUGHS)

    def feed_huge(self) -> None:
        total = int(self.qfloat("mb", 50) * MIB)
        item = b"".join(b"<item><title>Filler %d</title><link>/gen/%d.html</link></item>\n" % (i, i)
                        for i in range(1000))
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>\n')
            for _ in range(0, total, len(item)):
                self.wfile.write(item)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def feed_many(self) -> None:
        count = int(self.qfloat("items", 100_000))
        items = "".join(f"<item><link>/gen/{n}.html</link></item>" for n in range(1, count + 1))
        self.send_xml(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Many</title>{items}</channel></rss>')

    def feed_html(self) -> None:
        self.send_html(render_index(self.base))

    def feed_dates(self) -> None:
        self.send_xml(render_rss(self.base, ["ok-4", "ok-5", "ok-6"], dates=[
            "Fri, 01 Jan 2099 09:00:00 GMT", None, "Mon, 06 Jan 2025 09:00:00 GMT"]))

    def sitemap_news(self) -> None:
        self.send_xml(render_news_sitemap(self.base), "application/xml")

    def sitemap_index(self) -> None:
        self.send_xml(
            '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{self.base}/sitemaps/news.xml</loc></sitemap>"
            f"<sitemap><loc>{self.base}/sitemaps/index.xml</loc></sitemap></sitemapindex>\n", "application/xml")

    def regulator_news(self) -> None:
        links = "".join(f'<li><a href="/regulator/press/{n}.html">{html.escape(PRESS[n].headline)}</a></li>'
                        for n in sorted(PRESS))
        self.send_html(f"<!DOCTYPE html><html><head><title>News - Data Authority</title></head><body>"
                       f'<nav><a href="/">Home</a> <a href="/regulator/about.html">About us</a></nav>'
                       f"<h1>News and press releases</h1><ul>{links}</ul></body></html>")

    def regulator_press(self) -> None:
        number = self.path_only.removeprefix("/regulator/press/").removesuffix(".html")
        if not number.isdigit() or int(number) not in PRESS:
            self.send_body(404, error_page(404, "Not Found"))
            return
        self.send_html(render_article(PRESS[int(number)], self.url(), self.url()))

    def bench_feed(self) -> None:
        number = self.path_only.removeprefix("/bench/feed/").removesuffix(".xml")
        count = int(self.qfloat("items", 50))
        if not number.isdigit():
            self.send_body(404, error_page(404, "Not Found"))
            return
        first = int(number) * count
        items = "".join(f"<item><title>Generated {n}</title><link>/gen/{n}.html</link>"
                        f"<pubDate>Mon, 06 Jan 2025 09:00:00 GMT</pubDate></item>"
                        for n in range(first + 1, first + count + 1))
        self.send_xml(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bench {number}</title>'
                      f"{items}</channel></rss>", etag=f'"bench-{number}-{count}"')


def render_rss(base: str, slugs: list[str], dates: list[str | None] | None = None) -> str:
    """RSS 2.0 of these articles, newest first; the last link relative (feeds have them)."""
    items = []
    for index, slug in enumerate(slugs):
        article = ARTICLES[slug]
        link = f"{base}/news/{slug}.html" if index < len(slugs) - 1 else f"/news/{slug}.html"
        date = (dates[index] if dates else
                format_datetime(datetime.fromisoformat(article.published), usegmt=False))
        items.append(f"<item><title>{html.escape(article.headline)}</title><link>{link}</link>"
                     + (f"<pubDate>{date}</pubDate>" if date else "") + "</item>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{SITE_NAME}</title><link>{base}/</link>{''.join(items)}</channel></rss>\n")


def render_atom(base: str, slugs: list[str]) -> str:
    """An Atom feed of these articles."""
    entries = "".join(
        f"<entry><title>{html.escape(ARTICLES[s].headline)}</title><link href=\"{base}/news/{s}.html\"/>"
        f"<id>{base}/news/{s}.html</id><updated>{ARTICLES[s].published}</updated></entry>" for s in slugs)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{SITE_NAME}</title><id>{base}/</id><updated>2025-01-20T00:00:00Z</updated>{entries}</feed>\n")


def render_news_sitemap(base: str) -> str:
    """A Google News sitemap of two articles."""
    urls = "".join(
        f"<url><loc>{base}{path}</loc><lastmod>{date}</lastmod><news:news><news:publication>"
        f"<news:name>{SITE_NAME}</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>{date}</news:publication_date><news:title>{html.escape(title)}</news:title>"
        "</news:news></url>"
        for path, title, date in (("/news/ok-2.html", ARTICLES["ok-2"].headline, "2025-01-14T10:00:00+01:00"),
                                  ("/news/story.html", ARTICLES["story"].headline, "2025-01-20T10:00:00Z")))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>\n')


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n' for n in range(1, 10))
    + ']>\n<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
    "<link>/news/ok-1.html</link></item></channel></rss>\n")

PRESS: dict[int, Article] = {
    1: Article(
        headline="Information Commissioner's Office fines Brightlane Supermarkets £1.2 million over "
        "facial recognition",
        description="The ICO has fined Brightlane Supermarkets for scanning shoppers' faces against a "
        "watchlist without a lawful basis.",
        author="Press Office",
        published="2025-03-03T09:00:00+00:00",
        paragraphs=(
            "The Information Commissioner's Office has fined Brightlane Supermarkets £1.2 million for "
            "using live facial recognition on every shopper entering twelve of its stores.",
            "Our investigation found that the retailer compared the faces of hundreds of thousands of "
            "customers against a private watchlist without a lawful basis under the UK GDPR.",
            "Biometric data used to identify people is special category data. Brightlane could not "
            "show a substantial public interest condition for processing it.",
            "The Information Commissioner said: people must be able to shop without having their "
            "faces scanned and checked against a list they cannot see or challenge.",
            "Brightlane has stopped the trial and deleted the watchlist. It has 28 days to appeal the "
            "monetary penalty notice to the First-tier Tribunal.",
        ),
        section="Press releases",
    ),
    2: Article(
        headline="Information Commissioner's Office reprimands council over lost laptops",
        description="A reprimand for a council that lost unencrypted laptops holding residents' data.",
        author="Press Office",
        published="2025-02-10T09:00:00+00:00",
        paragraphs=(
            "The Information Commissioner's Office has issued a reprimand to Eastmoor Council after "
            "three unencrypted laptops holding the personal data of 4,000 residents were stolen.",
            "The council had no policy requiring laptops to be encrypted and did not know which staff "
            "held copies of housing benefit records.",
            "The reprimand requires the council to encrypt every device within six months and to "
            "train staff on data protection. The ICO will check on its progress.",
        ),
        section="Press releases",
    ),
}


def charset_article(headline: str, paragraphs: tuple[str, ...]) -> Article:
    """An article for the charset cases (text outside ASCII on purpose)."""
    return Article(headline=headline, description=paragraphs[0], author="Zoé Lefèvre",
                   published="2025-05-20T10:00:00+02:00", paragraphs=paragraphs)


BAD_REDIRECTS: dict[str, str] = {
    "/redirect/ftp": "ftp://127.0.0.1/pub/report.txt",
    "/redirect/file": "file:///etc/passwd",
    "/redirect/metadata": "http://169.254.169.254/latest/meta-data/",
    "/redirect/metadata-decimal": "http://2852039166/latest/meta-data/",
    "/redirect/private-ip": "http://10.0.0.1/admin",
    "/redirect/internal-name": "http://metadata.google.internal/computeMetadata/v1/",
}

ROUTES: dict[str, RouteFn] = {
    "/": Handler.index, "/news/": Handler.index, "/sitemap.xml": Handler.sitemap,
    "/robots.txt": Handler.robots, "/private/page.html": Handler.private,
    "/redirect/a": Handler.redirect_a, "/redirect/b": Handler.redirect_b,
    "/redirect/c": Handler.redirect_c, "/redirect/moved.html": Handler.redirect_moved,
    "/loop/a": Handler.loop_a, "/loop/b": Handler.loop_b,
    **{path: Handler.bad_redirect for path in BAD_REDIRECTS},
    "/gone/404.html": Handler.gone_404, "/gone/410.html": Handler.gone_410,
    "/flaky/500-then-200.html": Handler.flaky_500, "/flaky/503.html": Handler.flaky_503,
    "/flaky/429.html": Handler.flaky_429,
    "/slow/page.html": Handler.slow_page, "/slow/drip.html": Handler.slow_drip,
    "/broken/drop.html": Handler.broken_drop, "/broken/reset.html": Handler.broken_reset,
    "/broken/empty.html": Handler.broken_empty,
    "/huge/page.html": Handler.huge_page, "/huge/declared.html": Handler.huge_declared,
    "/bomb/page.html": Handler.bomb,
    "/charset/missing.html": Handler.charset_missing, "/charset/lying.html": Handler.charset_lying,
    "/charset/latin1-no-meta.html": Handler.charset_latin1,
    "/files/report.pdf": Handler.pdf,
    "/news/story.html": Handler.story, "/amp/story.html": Handler.amp_story,
    "/dup/one.html": Handler.dup, "/dup/two.html": Handler.dup,
    "/dup/with-canonical.html": Handler.dup_canonical,
    "/cond/etag.html": Handler.cond_etag, "/changing/page.html": Handler.changing,
    "/feeds/rss.xml": Handler.feed_rss, "/feeds/atom.xml": Handler.feed_atom,
    "/feeds/malformed.xml": Handler.feed_malformed, "/feeds/laughs.xml": Handler.feed_laughs,
    "/feeds/huge.xml": Handler.feed_huge, "/feeds/many.xml": Handler.feed_many,
    "/feeds/html.xml": Handler.feed_html, "/feeds/dates.xml": Handler.feed_dates,
    "/sitemaps/news.xml": Handler.sitemap_news, "/sitemaps/index.xml": Handler.sitemap_index,
    "/regulator/news/": Handler.regulator_news,
    "/__hits": Handler.control_hits, "/__log": Handler.control_log,
    "/__bump": Handler.control_bump, "/__config": Handler.control_config,
    "/__reset": Handler.control_reset,
}

PREFIX_ROUTES: tuple[tuple[str, RouteFn], ...] = (
    ("/news/", Handler.news), ("/gen/", Handler.generated),
    ("/redirect/chain/", Handler.redirect_chain), ("/regulator/press/", Handler.regulator_press),
    ("/bench/feed/", Handler.bench_feed),
)


def find_route(path: str) -> RouteFn | None:
    """Exact routes first, then prefixes."""
    if path in ROUTES:
        return ROUTES[path]
    return next((fn for prefix, fn in PREFIX_ROUTES if path.startswith(prefix)), None)


def main(argv: list[str] | None = None) -> None:
    """Serve until killed; the first stdout line is the base URL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--crawl-delay", type=float, default=1.0)
    args = parser.parse_args(argv)
    server = NewsSiteServer((args.host, args.port), crawl_delay=args.crawl_delay)
    host, port = server.server_address[:2]
    print(f"http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
