"""Shared fixtures. Unit tests open no sockets; integration tests use moto in-process."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "common" / "python"))

# Never reach a real AWS account from a test.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Reelgate")
os.environ.setdefault("REELGATE_FFMPEG_DIR", str(ROOT / "layers" / "ffmpeg" / "bin"))


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set REELGATE_* variables for one test; the cached Settings are rebuilt around it."""
    from reelgate.settings import get_settings

    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
