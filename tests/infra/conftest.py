"""Synthesize the stack once per session, with small stand-ins for the built layer assets."""

from __future__ import annotations

import pytest
from infra_helpers import Synth, synthesize


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("layers"), tmp_path_factory.mktemp("cdk.out"))
