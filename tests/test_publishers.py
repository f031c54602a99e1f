"""Publisher names a reader recognises, and one article per address whatever its campaign tag."""

from __future__ import annotations

from pathlib import Path

from tracker.store import open_db
from tracker.publishers import known_outlet, load_outlets, outlet_name
from tracker.seeds.files import load_seeds
from tracker.urls import story_key


def test_outlet_names_from_the_shipped_table_else_the_given_name_else_the_domain() -> None:
    assert outlet_name("biometricupdate.com", "Biometric Companies") == "Biometric Update"
    assert outlet_name("www.theregister.com", "theregister") == "The Register"
    assert outlet_name("news.sky.com") == "Sky News" and outlet_name("uk.reuters.com") == "Reuters"
    assert outlet_name("thegrocer.co.uk", "The Grocer") == "The Grocer"
    assert outlet_name("unknown-outlet.example") == "unknown-outlet.example"
    assert outlet_name(None, "Given") == "Given" and outlet_name(None) is None
    assert known_outlet("unknown-outlet.example") is None and known_outlet("www.wired.com") == "WIRED"
    table = load_outlets()
    assert len(table) > 200 and all(domain == domain.lower() for domain in table)


def test_seed_publishers_are_named_by_the_table(tmp_path: Path) -> None:
    seed = tmp_path / "seed.md"
    seed.write_text("---\ntitle: Face scans\nwebUrl: https://www.biometricupdate.com/2024/01/face\n"
                    "provider:\n  name: Biometric Companies\n  domain: biometricupdate.com\n"
                    "related:\n  - title: Cameras\n    webUrl: https://www.analyticsindiamag.com/x\n"
                    "    provider:\n      name: India\n---\n", encoding="utf-8")
    db = open_db(tmp_path / "t.db")
    load_seeds(db, [str(seed)])
    names = {r[0] for r in db.conn.execute("SELECT publisher FROM articles")}
    assert names == {"Biometric Update", "Analytics India Magazine"}


def test_the_register_td_tag_is_one_article() -> None:
    plain = "https://www.theregister.com/2020/01/17/ai_regulation/"
    assert story_key(plain + "?td=rt-3a") == story_key(plain + "?td=keepreading") == story_key(plain)
