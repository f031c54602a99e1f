"""WARC archive of raw responses (and their requests): the one module that imports warcio.

The crawl writes every response it gets to gzipped WARC files under `<db folder>/warc/`, rotated
by size; replay and import read them back as PageResults that go through the same save path.
"""

from __future__ import annotations

import errno
import logging
import os
from http import HTTPStatus
import socket
import zlib
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import IO, Any, Iterator
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tracker import __version__
from tracker.dates import now_iso
from tracker.errors import TrackerError
from tracker.crawl.pages import PageResult, outcome_for_status

logger = logging.getLogger(__name__)

# Our own fields on response records (WARC allows extension fields): what was asked for, and the
# redirect hops, which Scrapy follows before the response reaches us.
REQUESTED_FIELD = "Tracker-Requested-URI"
REDIRECTS_FIELD = "Tracker-Redirects"
# Headers that described the bytes on the wire, not the decoded body we keep.
WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class WarcArchive:
    """Appends request/response pairs to `folder/<prefix>-<time>-<pid>-<n>.warc.gz`, starting a new
    file once the current one passes `max_bytes`.

    Each record is its own gzip member, as warcio writes them, but compressed here at `level`:
    warcio always uses level 9, which cost the crawl ~20 ms of its one main-process core per page;
    level 1 takes a sixth of that for files about a fifth larger."""

    def __init__(self, folder: str | os.PathLike[str], max_bytes: int = 100_000_000,
                 prefix: str = "tracker", level: int = 1) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.prefix = prefix
        self.level = level
        self._serial = 0
        self._handle: IO[bytes] | None = None
        self._builder = WARCWriter(BytesIO(), gzip=False)  # builds records; never writes itself
        self.path: Path | None = None

    def write(self, page: PageResult, request_headers: dict[str, str]) -> str:
        """Archive one response and its request; returns the WARC file name it went to."""
        handle = self._current()
        uri = page.final_url or page.url
        response = self._builder.create_warc_record(
            uri, "response", payload=BytesIO(page.body), http_headers=_response_headers(page),
            warc_headers_dict=_extra_fields(page))
        request = self._builder.create_warc_record(
            uri, "request", payload=BytesIO(b""), http_headers=_request_headers(uri, request_headers))
        request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID"))
        start = handle.tell()
        try:
            self._append(handle, response)
            self._append(handle, request)
        except OSError:
            # A full disk: cut the file back to its last whole record, so that it stays a
            # readable WARC (it was left ending in half a gzip member), then fail the page.
            os.ftruncate(handle.fileno(), start)
            handle.seek(start)
            raise
        assert self.path is not None
        name = self.path.name
        if handle.tell() >= self.max_bytes:
            self.close()
        return name

    def _append(self, handle: IO[bytes], record: Any) -> None:
        buffer = BytesIO()
        WARCWriter(buffer, gzip=False).write_record(record)
        member = zlib.compressobj(self.level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        data = memoryview(member.compress(buffer.getvalue()) + member.flush())
        while data:  # unbuffered: a short write on a full disk is seen here, not at close
            written = handle.write(data)
            if not written:
                raise OSError(errno.ENOSPC, "short write", str(self.path))
            data = data[written:]

    def _current(self) -> IO[bytes]:
        if self._handle is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
            self._serial += 1
            self.path = self.folder / f"{self.prefix}-{stamp}-{os.getpid()}-{self._serial:05d}.warc.gz"
            self._handle = self.path.open("ab", buffering=0)
            info = {"software": f"privacy-news-tracker/{__version__}", "hostname": socket.gethostname(),
                    "format": "WARC File Format 1.1"}
            self._append(self._handle, self._builder.create_warcinfo_record(self.path.name, info))
        return self._handle

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = None


def _response_headers(page: PageResult) -> StatusAndHeaders:
    headers = [(k, v) for k, v in page.headers.items() if k.lower() not in WIRE_HEADERS]
    headers.append(("Content-Length", str(len(page.body))))
    return StatusAndHeaders(f"{page.status or 200} {_reason(page.status)}", headers, protocol="HTTP/1.1")


def _reason(status: int | None) -> str:
    try:
        return HTTPStatus(status or 200).phrase
    except ValueError:
        return "Unknown"


def _request_headers(uri: str, headers: dict[str, str]) -> StatusAndHeaders:
    parts = urlsplit(uri)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    pairs = [("Host", parts.netloc), *((k, v) for k, v in headers.items() if k.lower() != "host")]
    return StatusAndHeaders(f"GET {target} HTTP/1.1", pairs, is_http_request=True)


def _extra_fields(page: PageResult) -> dict[str, str]:
    fields = {"WARC-Date": _warc_date(page.requested_at), REQUESTED_FIELD: page.url}
    if page.redirects:
        fields[REDIRECTS_FIELD] = " ".join(page.redirects)
    return fields


def _warc_date(iso: str) -> str:
    return iso if iso.endswith("Z") else now_iso()


def iter_warc_pages(path: str | os.PathLike[str]) -> Iterator[PageResult]:
    """Each HTTP response record of a WARC file (ours or anyone's) as a PageResult."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise TrackerError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with handle:
        try:
            for record in ArchiveIterator(handle):
                page = _page_from_record(record, path.name)
                if page is not None:
                    yield page
        except ArchiveLoadFailed as exc:
            raise TrackerError(f"{path}: not a readable WARC file ({exc})") from exc


def _page_from_record(record: object, name: str) -> PageResult | None:
    if getattr(record, "rec_type", None) != "response" or record.http_headers is None:  # type: ignore[attr-defined]
        return None
    fields = record.rec_headers  # type: ignore[attr-defined]
    uri = fields.get_header("WARC-Target-URI")
    if not uri or not uri.startswith(("http://", "https://")):
        return None
    status = int(record.http_headers.get_statuscode() or 0)  # type: ignore[attr-defined]
    headers = {k.lower(): v for k, v in record.http_headers.headers}  # type: ignore[attr-defined]
    body = record.content_stream().read()  # type: ignore[attr-defined]  # de-chunked, decompressed
    redirects = (fields.get_header(REDIRECTS_FIELD) or "").split()
    return PageResult(url=fields.get_header(REQUESTED_FIELD) or uri, final_url=uri,
                      requested_at=fields.get_header("WARC-Date") or "", status=status,
                      outcome=outcome_for_status(status), headers=headers, body=body,
                      redirects=redirects, warc_file=name)
