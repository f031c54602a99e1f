"""`tracker run`, the scheduled job: lock, runs table, kill -9 and resume, reruns, deployment files."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import query
from tracker.config import PROJECT_ROOT
from tracker.store import open_db
from tracker.job import lock_path, run_lock

FAST = ["-s", "TRACKER_ALLOWED_NETWORKS=127.0.0.0/8", "-s", "DOWNLOAD_DELAY=0",
        "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "TRACKER_RETRY_BACKOFF_BASE=0.05",
        "-s", "DOWNLOAD_TIMEOUT=5", "-s", "TRACKER_EXTRACT_WORKERS=1"]
DEPLOY = PROJECT_ROOT / "deploy"


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", "run", *args], cwd=tmp_path, text=True,
                          capture_output=True, timeout=300, env=env, check=False)


def write_seed(folder: Path, name: str, site: Any, web: str, related: list[str]) -> None:
    items = "".join(f'  - title: "related {p}"\n    webUrl: "{site.url_for(p)}"\n' for p in related)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(
        f'---\ntitle: "seed {web}"\npublishedDateTime: 2025-01-06T08:30:00Z\n'
        f'webUrl: "{site.url_for(web)}"\nrelated:\n{items}---\n', encoding="utf-8")


def runs(db: Path) -> list[dict[str, Any]]:
    names = [r[1] for r in query(db, "PRAGMA table_info(runs)")]
    return [dict(zip(names, row)) for row in query(db, "SELECT * FROM runs ORDER BY id")]


@pytest.fixture
def site(newssite: Any) -> Any:
    newssite.reset()
    newssite.set_crawl_delay(0)
    return newssite


def test_run_then_rerun(site: Any, tmp_path: Path) -> None:
    seeds, db = tmp_path / "seeds", tmp_path / "data" / "tracker.db"
    write_seed(seeds, "a.md", site, "/news/ok-1.html", ["/news/ok-5.html", "/gone/404.html"])
    write_seed(seeds, "b.md", site, "/news/ok-2.html", ["/news/ok-1.html"])
    first = run(tmp_path, str(seeds), "--db", str(db), *FAST)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "run 1 completed: 2 seed files, 4 new articles, 4 due, 3 fetched, 1 failed" in first.stdout
    row = runs(db)[0]
    assert row["status"] == "completed" and row["ended_at"] >= row["started_at"]
    assert (row["seeds"], row["new_articles"], row["fetched"], row["failed"]) == (2, 4, 3, 1)
    assert row["new_stories"] >= 1 and row["pid"] > 0
    assert query(db, "SELECT COUNT(*) FROM articles WHERE cluster_id IS NOT NULL")[0][0] >= 3
    assert "stage=crawl" in first.stderr  # structured log lines when not on a terminal
    tables = {t: query(db, f"SELECT * FROM {t} ORDER BY 1")
              for t in ("articles", "urls", "relations", "fetches", "clusters", "article_versions")}

    second = run(tmp_path, str(seeds), "--db", str(db), *FAST)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "0 new articles, 0 due, 0 fetched" in second.stdout and "0 new and 0 grown" in second.stdout
    for table, before in tables.items():
        assert query(db, f"SELECT * FROM {table} ORDER BY 1") == before, table
    assert [r["status"] for r in runs(db)] == ["completed", "completed"]


def test_second_run_is_refused_while_one_holds_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    with run_lock(db):
        result = run(tmp_path, str(tmp_path / "none"), "--db", str(db))
    assert result.returncode == 75
    message = result.stderr.strip().splitlines()[-1]
    assert "another run holds the lock since" in message and f"pid {os.getpid()}" in message
    assert str(db) in message
    # the refused run wrote nothing (the lock is on the database file, created empty by the holder)
    assert db.stat().st_size == 0


def test_lock_is_per_file_not_per_name(tmp_path: Path) -> None:
    """A symlink and a hard link to the database find its lock taken: a second run through
    another name must not start (and mark the live run interrupted)."""
    db = tmp_path / "data" / "tracker.db"
    db.parent.mkdir()
    db.touch()
    (tmp_path / "alias.db").symlink_to(db)
    os.link(db, tmp_path / "hard.db")
    with run_lock(db):
        for name in ("alias.db", "hard.db"):
            result = run(tmp_path, str(tmp_path / "none"), "--db", str(tmp_path / name))
            assert result.returncode == 75, (name, result.stderr[-2000:])
            assert "another run holds the lock since 20" in result.stderr  # the holder's, not "?"
            assert f"pid {os.getpid()} on" in result.stderr
    assert db.stat().st_size == 0  # neither wrote a thing
    assert not (tmp_path / "hard.db.lock").exists()  # nor left a file behind
    assert not lock_path(db).exists()  # the clean end of the holder leaves none either


def test_killed_run_is_taken_over_and_nothing_is_lost_or_doubled(site: Any, tmp_path: Path) -> None:
    seeds, db = tmp_path / "seeds", tmp_path / "tracker.db"
    pages = [f"/gen/{i}.html" for i in range(100, 106)]
    write_seed(seeds, "slow.md", site, "/news/ok-3.html", pages)
    # one page a second: slow enough to be killed halfway
    args = [sys.executable, "-m", "tracker", "run", str(seeds), "--db", str(db), *FAST,
            "-s", "DOWNLOAD_DELAY=1", "-s", "AUTOTHROTTLE_START_DELAY=1"]
    job = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _fetch_rows(db):
        time.sleep(0.2)
    assert _fetch_rows(db) >= 1, "the first run never fetched anything"
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=10)
    time.sleep(0.5)  # the crawl child dies with its parent (PR_SET_PDEATHSIG)
    killed_at = _fetch_rows(db)
    assert killed_at < 7, "the run finished before it was killed: nothing was tested"
    assert runs(db)[0]["status"] == "running"
    assert lock_path(db).read_text(encoding="utf-8")  # the dead holder's pid is still written

    again = run(tmp_path, str(seeds), "--db", str(db), *FAST)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "took over the lock of pid" in again.stderr
    assert [r["status"] for r in runs(db)] == ["interrupted", "completed"]
    assert query(db, "SELECT COUNT(*) FROM articles")[0][0] == 7
    assert query(db, "SELECT COUNT(*) FROM articles WHERE status = 'fetched'")[0][0] == 7
    doubled = query(db, "SELECT article_id, COUNT(*) FROM fetches WHERE outcome = 'ok' "
                        "GROUP BY article_id HAVING COUNT(*) > 1")
    assert doubled == []
    assert query(db, "SELECT COUNT(*) FROM relations")[0][0] == 6
    assert query(db, "PRAGMA integrity_check")[0][0] == "ok"


def _fetch_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        return query(db, "SELECT COUNT(*) FROM fetches")[0][0]
    except Exception:  # the table may not exist yet
        return 0


def test_exit_codes_for_bad_input(tmp_path: Path) -> None:
    folder_as_db = tmp_path / "folder.db"
    folder_as_db.mkdir()
    result = run(tmp_path, "--db", str(folder_as_db))
    assert result.returncode == 2 and "'--db'" in result.stderr and "is a directory" in result.stderr
    missing = run(tmp_path, str(tmp_path / "no-such-seeds"), "--db", str(tmp_path / "t.db"))
    assert missing.returncode == 1 and "no-such-seeds: no such file or folder" in missing.stderr
    assert runs(tmp_path / "t.db")[-1]["status"] == "failed"
    assert "no-such-seeds" in runs(tmp_path / "t.db")[-1]["errors"]


def test_systemd_units_verify(tmp_path: Path) -> None:
    """Parse the units; where systemd-analyze exists, verify them (with the install path pointing
    here, so that the ExecStart binary exists)."""
    for name in ("tracker.service", "tracker.timer"):
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/privacy-news-tracker", str(PROJECT_ROOT)))
        units = configparser.ConfigParser(strict=False, interpolation=None)
        units.read_string(text)
        assert units.sections()[0] == "Unit"
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.read(tmp_path / "tracker.service")
    exec_start = shlex.split(service["Service"]["ExecStart"])
    assert exec_start[1:3] == ["run", "--max-runtime"] and Path(exec_start[0]).name == "tracker"
    # the run ends (deadline) before the hourly timer's next start and the unit's start timeout
    from tracker.crawl.policy import parse_duration
    runtime = parse_duration(exec_start[3])
    assert runtime < parse_duration(service["Service"]["TimeoutStartSec"].replace("min", "m"))
    assert runtime.total_seconds() < 3600 and service["Service"]["KillMode"] == "mixed"
    assert "75" in service["Service"]["SuccessExitStatus"]
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed: units parsed only")
    verify = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "tracker.service"),
                             str(tmp_path / "tracker.timer")], capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr


def test_crontab_line_runs_the_job(tmp_path: Path) -> None:
    """The crontab's command, with the install folder pointing at a copy of this project's layout,
    runs the job to completion on a database where nothing is due (no network needed)."""
    lines = [line for line in (DEPLOY / "crontab").read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    assert len(fields) == 6 and fields[0].isdigit() and fields[1:5] == ["*", "*", "*", "*"]
    command = fields[5]
    assert "tracker run" in command
    install = tmp_path / "install"
    (install / ".venv" / "bin").mkdir(parents=True)
    (install / ".venv" / "bin" / "tracker").symlink_to(Path(sys.executable).parent / "tracker")
    (install / "data" / "logs").mkdir(parents=True)
    db = open_db(install / "data" / "tracker.db")  # seeds/ of the project, already fetched
    from tracker.seeds.files import load_seeds

    load_seeds(db, [PROJECT_ROOT / "seeds"])
    db.conn.execute("UPDATE articles SET status = 'fetched', next_fetch_at = '2999-01-01T00:00:00Z'")
    db.close()
    result = subprocess.run(["sh", "-c", command.replace("/opt/privacy-news-tracker", str(install))],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    log = (install / "data" / "logs" / "cron.log").read_text()
    assert "completed: 0 seed files, 0 new articles, 0 due" in log
    assert runs(install / "data" / "tracker.db")[0]["status"] == "completed"
