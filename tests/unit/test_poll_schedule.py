"""The Pixverse poll schedule (mobile/generation.py): 5 s, then doubling up to 30 s (docs/decisions.md), never
more often than every 3 s (contracts/pixverse.md §4 and its fake's strictness rule)."""

from __future__ import annotations

from reelgate.mobile.generation import Generations
from reelgate.settings import Settings

PRODUCTION = {"poll_initial_seconds": 5, "poll_max_seconds": 30, "poll_growth": 2.0}


def generations(**settings: float) -> Generations:
    return Generations(jobs=None, limits=None, media=None, pixverse=None,
                       settings=Settings(_env_file=None, **settings))


def test_the_defaults_are_the_production_schedule() -> None:
    defaults = {name: Settings.model_fields[name].default for name in PRODUCTION}
    assert defaults == PRODUCTION


def test_the_wait_doubles_from_5_to_30_seconds_and_stays_there() -> None:
    schedule = generations(**PRODUCTION)
    assert [schedule.next_wait(polls) for polls in range(8)] == [5, 10, 20, 30, 30, 30, 30, 30]


def test_no_wait_is_shorter_than_3_seconds() -> None:
    schedule = generations(**PRODUCTION)
    assert min(schedule.next_wait(polls) for polls in range(100)) >= 3


def test_the_schedule_follows_its_settings() -> None:
    schedule = generations(poll_initial_seconds=3, poll_max_seconds=40, poll_growth=1.5)
    assert [schedule.next_wait(polls) for polls in range(7)] == [3, 4, 6, 10, 15, 22, 34]
    assert schedule.next_wait(8) == 40
