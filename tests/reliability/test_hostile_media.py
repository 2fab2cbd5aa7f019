"""Hostile media: inputs built to make FFmpeg read local files, to exhaust memory or time, or that are not
media at all. Each one ends as a clean failed job: the submission is accepted (202, never a 5xx), the job
fails with a message naming the input and nothing of the machine (no path, no tool output), and the
credits are refunded (REELGATE_TOOLKIT_REFUND_REFUSED_INPUT, on by default).

FFmpeg never opens a local file named by an input: the playlists and concat lists name a canary FIFO (as
well as /etc/passwd). Opening a FIFO for reading blocks until a writer comes, and a writer's non-blocking
open succeeds only while a reader waits, so a watcher that keeps trying to open it for writing sees any
reader, however briefly it would have read (the equivalent of tracing FFmpeg's `openat` calls).
"""

from __future__ import annotations

import errno
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LocalCloud, Site, wait_for
from tests.e2e.test_toolkit import clip
from tests.reliability.books import balances
from tests.reliability.tally import Cases

IMAGE, CONCAT = "/v1/image/convert/video", "/v1/video/concatenate"
SECRET_FILE = "/etc/passwd"  # what a playlist or concat list tries to make FFmpeg read
CANARY = f"/tmp/reelgate-canary-{os.getpid()}.ts"  # a FIFO: see the module's docstring
INTERNALS = ("/etc/", "/tmp", "/var/", "/work", "root:", "ffmpeg version", "Traceback", "arn:aws")


def _png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming width x height, then one tiny IDAT and IEND."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _long_claim(root: Path) -> bytes:
    """A real one-second clip (15 frames) whose movie and track headers claim 10^7 seconds, and whose sample
    table stretches each frame (FFmpeg then reads it as about 1000 s, still over the 900 s limit)."""
    clip(root / "honest.mp4", "160x120", 15, False)
    data = bytearray((root / "honest.mp4").read_bytes())
    for box, offset, values in (("mvhd", 16, (1, 10**7)), ("tkhd", 24, (10**7,)), ("mdhd", 16, (15, 15 * 10**7)),
                                ("stts", 16, (10**7,))):
        at = data.index(box.encode())
        assert data[at + 4] == 0, f"the test clip has a version-0 {box}"
        struct.pack_into(f">{len(values)}I", data, at + offset, *values)
    return bytes(data)


def _gzip_bomb() -> bytes:
    """256 MiB of zeros, gzipped (~256 KB): anything that inflates it whole is in trouble."""
    zeros, compressor = b"\0" * (1 << 20), zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip format
    return b"".join(compressor.compress(zeros) for _ in range(256)) + compressor.flush()


# name -> (endpoint, file name served by the file server, its bytes)
HOSTILE: dict[str, tuple[str, str, Callable[[Site], bytes]]] = {
    "HLS playlist of a local file": (CONCAT, "local.m3u8", lambda s: (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile://{CANARY}\n#EXTINF:1,\nfile://{SECRET_FILE}\n"
        "#EXT-X-ENDLIST\n").encode()),
    "HLS playlist named .mp4": (CONCAT, "playlist.mp4", lambda s: (
        f"#EXTM3U\n#EXTINF:1,\n{CANARY}\n#EXTINF:1,\n{s.url}/honest.mp4\n#EXT-X-ENDLIST\n").encode()),
    "concat list of a local file": (CONCAT, "list.mp4", lambda s: (
        f"ffconcat version 1.0\nfile '{CANARY}'\nfile 'file:{SECRET_FILE}'\n").encode()),
    "text with a video extension": (CONCAT, "text.mp4", lambda s: b"this is not a video\n" * 100),
    "text with an image extension": (IMAGE, "text.jpg", lambda s: b"<html>not an image</html>\n" * 50),
    "PNG claiming 60000x60000": (IMAGE, "huge.png", lambda s: _png_header(60000, 60000)),
    "zero-length video": (CONCAT, "empty.mp4", lambda s: b""),
    "zero-length image": (IMAGE, "empty.jpg", lambda s: b""),
    "gzip bomb named .mp4": (CONCAT, "bomb.mp4", lambda s: _gzip_bomb()),
    "mp4 claiming 10^7 s": (CONCAT, "long.mp4", lambda s: _long_claim(s.root)),
}


@pytest.fixture
def canary() -> Iterator[list[str]]:
    """The FIFO, and a watcher that records every time a reader had it open."""
    os.mkfifo(CANARY)
    readers: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.02):
            try:
                fd = os.open(CANARY, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: nobody reading, as it should be
                    raise
                continue
            readers.append("a reader opened the canary")
            os.close(fd)  # the reader sees end of file and goes on

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    yield readers
    stop.set()
    watcher.join(5)
    os.unlink(CANARY)


@pytest.fixture(scope="module")
def key(cloud: LocalCloud) -> tuple[str, str]:
    made = cloud.admin("keys", "create", "hostile", "--credits", "1000")
    return made["key_id"], made["api_key"]


def test_each_hostile_input_is_a_clean_refunded_failure(cloud: LocalCloud, site: Site, key: tuple[str, str],
                                                       canary: list[str], cases: Cases) -> None:
    key_id, api_key = key
    submitted: dict[str, Any] = {}
    with cloud.client() as http:
        for name, (endpoint, filename, build) in HOSTILE.items():
            (site.root / filename).write_bytes(build(site))
            url = f"{site.url}/{filename}"
            body = {"video_urls": [{"video_url": url}]} if endpoint == CONCAT else {"image_url": url, "length": 1}
            answer = http.post(endpoint, headers={"x-api-key": api_key}, json=body)
            if cases.check(f"{name}: accepted", answer.status_code == 202, (answer.status_code, answer.text[:200])):
                submitted[name] = answer.json()["job_id"]

        def status(job_id: str) -> dict[str, Any]:
            got = http.post("/v1/toolkit/job/status", headers={"x-api-key": api_key}, json={"job_id": job_id})
            assert got.status_code < 500, got.text
            return dict(got.json()["response"])

        for name, job_id in submitted.items():
            done = wait_for(lambda j=job_id: (s := status(j))["job_status"] == "done" and s, timeout=300)
            outcome = done["response"]
            message = str(outcome.get("message") or "")
            cases.check(f"{name}: the job failed", outcome["code"] == 500 and outcome["response"] is None, outcome)
            field = "video_urls[0]" if HOSTILE[name][0] == CONCAT else "image_url"
            cases.check(f"{name}: refused as the caller's input, naming it and nothing of the machine",
                        field in message and not any(marker in message for marker in INTERNALS), message)
    cases.check("every failed job was refunded", balances(cloud)[key_id] == 1000, balances(cloud)[key_id])
    cases.check("no input made FFmpeg open a local file (the canary FIFO)", not canary, canary)
    cases.verify()
