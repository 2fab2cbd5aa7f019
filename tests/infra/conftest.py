"""Synthesize the stack once per session, with small stand-ins for the built layer assets."""

from __future__ import annotations

import pytest
from infra_helpers import Synth, synthesize


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("layers"), tmp_path_factory.mktemp("cdk.out"))


# Operator settings given on the command line (-c setting.<name>=<value>); max_queue_length overrides cdk.json's.
PROD_OVERRIDES = {"setting.max_queue_length": "7", "setting.price_concatenate": "50",
                  "setting.api_wait_seconds": "12.5", "setting.poll_initial_seconds": "3",
                  "setting.generation_deadline_seconds": "900", "setting.entitlement_cache_seconds": "60"}


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The prod stage (cdk.json's stages.prod and settings.prod), with PROD_OVERRIDES on top."""
    return synthesize(tmp_path_factory.mktemp("layers"), tmp_path_factory.mktemp("cdk.out"), stage="prod",
                      extra_context=PROD_OVERRIDES)
