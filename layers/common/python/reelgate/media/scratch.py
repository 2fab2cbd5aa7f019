"""Per-job scratch space under settings.work_dir, removed whatever happens (NCA leaks /tmp, #109)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reelgate.settings import get_settings


@contextmanager
def scratch_dir(prefix: str = "reelgate-") -> Iterator[Path]:
    """Yield a fresh private directory; it and everything in it is deleted on exit or error."""
    root = Path(get_settings().work_dir)
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
