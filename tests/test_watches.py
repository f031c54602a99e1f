"""Watches and alerts: saved searches, what is new or grown after a run, delivery by webhook to a
real local HTTP receiver and by e-mail to a real local SMTP server (aiosmtpd), retried when it
fails, and the watch's Atom feed."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from tests.test_lens import add_article, stored, taxonomy_dir  # noqa: F401 (a fixture)
from tests.test_lens_pages import _story_db
from tests.test_serve import get, serving
from tracker.cli import main
from tracker.lens.tag_stage import tag_articles
from tracker.store import Database, open_db
from tracker.watches import add_watch, alert_watches, filters_from_tags


class Receiver(BaseHTTPRequestHandler):
    """Records each POSTed JSON body; answers 503 while `failing` is set."""

    bodies: list[Any] = []
    failing = False

    def do_POST(self) -> None:  # noqa: N802 (the http.server name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).failing:
            self.send_response(503)
        else:
            type(self).bodies.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[type[Receiver]]:
    handler = type("Hook", (Receiver,), {"bodies": [], "failing": False})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/hook"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:  # aiosmtpd's Controller cannot report a port 0 back: take a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def _run(db: Database, run_id: int, changes: dict[int, str]) -> None:
    """What `tracker run` leaves for the watches: a run and the stories it created or grew."""
    db.conn.execute("INSERT INTO runs (id, started_at, status) VALUES (?, '2022-06-01T00:00:00Z', 'completed')",
                    [run_id])
    db.conn.executemany("INSERT INTO run_stories (run_id, story_id, change) VALUES (?, ?, ?)",
                        [(run_id, story, change) for story, change in changes.items()])


def test_a_watch_alerts_on_new_and_grown_stories_by_webhook_and_email_and_retries_a_failure(
        tmp_path: Path, taxonomy_dir: Path, webhook: Any, smtp: tuple[Mailbox, int]) -> None:  # noqa: F811
    db = _story_db(tmp_path / "w.db", taxonomy_dir)
    mailbox, port = smtp
    email = f"smtp://127.0.0.1:{port}/?from=tracker@example.org&to=analyst@example.org"
    filters = filters_from_tags(db, ["Clearview AI"], min_relevance=0.5)
    assert filters == {"company": ["clearview-ai"], "min_relevance": 0.5}
    assert add_watch(db, "clearview", "", filters, email=email, webhook=webhook.url) == 2  # stories 1, 2: seen
    # a run: story 1 grows by an article, story 4 is new, story 3 (not Clearview) grows
    grown = add_article(db, "https://a.example/1/9", "Clearview AI appeals the ICO fine",
                        published="2022-06-01T00:00:00Z")
    other = add_article(db, "https://a.example/3/9", "Meta settles again", published="2022-06-01T00:00:00Z")
    fresh = add_article(db, "https://a.example/4/0", "Garante fines Clearview AI again under GDPR",
                        published="2022-06-02T00:00:00Z")
    db.conn.execute("INSERT INTO clusters (id, headline, first_seen, last_seen, n_articles, n_publishers) "
                    "VALUES (4, 'Garante fines Clearview AI again', '2022-06-02T00:00:00Z', "
                    "'2022-06-02T00:00:00Z', 1, 1)")
    for article, story in ((grown, 1), (other, 3), (fresh, 4)):
        db.conn.execute("UPDATE articles SET cluster_id = ? WHERE id = ?", [story, article])
    tag_articles(db, taxonomy_dir)
    _run(db, 1, {1: "grew", 3: "grew", 4: "created"})
    webhook.failing = True  # the webhook is down this time; e-mail works
    first = alert_watches(db, 1)
    assert (first.stories, first.sent, first.failed) == (2, 1, 1)
    assert stored(db, "SELECT channel, status, attempts, last_error FROM watch_deliveries ORDER BY channel") == [
        ("email", "sent", 1, None), ("webhook", "pending", 1, f"TrackerError: {webhook.url}: HTTP 503")]
    (mail,) = mailbox.messages
    assert mail["Subject"] == "[tracker] clearview: 1 new, 1 grown" and mail["To"] == "analyst@example.org"
    text = mail.get_payload()
    assert "GREW: The ICO fined Clearview AI" in text and "+ Clearview AI appeals the ICO fine" in text
    assert "NEW: Garante fines Clearview AI again (story 4" in text and "Meta settles again" not in text
    webhook.failing = False
    _run(db, 2, {})  # the next run brings nothing: the failed alert goes out now
    second = alert_watches(db, 2)
    assert (second.stories, second.sent, second.failed) == (0, 1, 0)
    (body,) = webhook.bodies
    assert [(s["story_id"], s["change"], [a["id"] for a in s["added"]]) for s in body["stories"]] == \
        [(1, "grew", [grown]), (4, "new", [fresh])]
    assert stored(db, "SELECT status, attempts FROM watch_deliveries WHERE channel = 'webhook'") == [("sent", 2)]
    assert len(mailbox.messages) == 1  # nothing new: no second e-mail


def test_a_broken_delivery_target_never_fails_the_alerting(tmp_path: Path, taxonomy_dir: Path) -> None:  # noqa: F811
    db = _story_db(tmp_path / "w.db", taxonomy_dir)
    add_watch(db, "everything", "", {}, email="smtp://127.0.0.1:9/?from=a@example.org&to=b@example.org")
    db.conn.execute("DELETE FROM watch_stories")  # as if nothing had been seen
    _run(db, 1, {1: "created", 2: "created", 3: "created"})
    summary = alert_watches(db, 1)
    assert (summary.stories, summary.sent, summary.failed, summary.errors) == (3, 0, 1, [])
    (error,) = stored(db, "SELECT last_error FROM watch_deliveries WHERE status = 'pending'")[0]
    assert error.startswith("ConnectionRefusedError")


def test_watch_commands_and_the_watch_feed(tmp_path: Path, taxonomy_dir: Path) -> None:  # noqa: F811
    db_path = tmp_path / "w.db"
    db = _story_db(db_path, taxonomy_dir)
    runner = CliRunner()
    result = runner.invoke(main, ["watch", "add", "gdpr", "-q", "Clearview", "--law", "GDPR", "--db", str(db_path)])
    assert result.exit_code == 0 and "watch 'gdpr' saved: 2 stories match now" in result.output
    bad = runner.invoke(main, ["watch", "add", "x", "--law", "no such law", "--db", str(db_path)])
    assert bad.exit_code != 0 and "'no such law': no taxonomy entry has this id or name" in bad.output
    listed = runner.invoke(main, ["watch", "list", "--db", str(db_path)]).output
    assert "gdpr  q='Clearview'  filters={'law': ['gdpr']}  email=-  webhook=-" in listed
    added = add_article(db, "https://a.example/2/9", "Clearview AI fined again under the GDPR",
                        published="2022-07-01T00:00:00Z")
    db.conn.execute("UPDATE articles SET cluster_id = 2 WHERE id = ?", [added])
    db.conn.execute("UPDATE clusters SET last_seen = '2022-07-01T00:00:00Z' WHERE id = 2")
    tag_articles(db, taxonomy_dir)
    _run(db, 1, {2: "grew"})
    assert alert_watches(db, 1).stories == 1
    db.close()
    with serving(db_path, tmp_path / "serve.log") as base:
        status, feed = get(base, "/w/watch_feed.atom", watch="gdpr")
        assert status == 200 and feed.count("<entry>") == 1
        assert "<published>2021-03-01T00:00:00Z</published>" in feed  # the story's first publication
        assert "<updated>2022-07-01T00:00:00Z</updated>" in feed  # its latest, not when the tracker saw it
        assert "Added: Clearview AI fined again under the GDPR" in feed
    add_watch(open_db(db_path), "mail", email="smtp://me:s3cret@127.0.0.1:2525/?from=a@b.org&to=c@d.org")
    assert "email=smtp://me:***@127.0.0.1:2525/" in runner.invoke(main, ["watch", "list", "--db", str(db_path)]).output
    runner.invoke(main, ["watch", "remove", "mail", "--db", str(db_path)])
    removed = runner.invoke(main, ["watch", "remove", "gdpr", "--db", str(db_path)])
    assert removed.exit_code == 0 and runner.invoke(main, ["watch", "list", "--db", str(db_path)]).output == ""
    missing = runner.invoke(main, ["watch", "remove", "gdpr", "--db", str(db_path)])
    assert missing.exit_code != 0 and "watch 'gdpr': no such watch" in missing.output
