"""Domain errors. Each API maps them to its own wire format in one place."""

from __future__ import annotations


class ReelgateError(Exception):
    """Base class of every error the domain raises on purpose."""


class NotFound(ReelgateError):
    pass


class Conflict(ReelgateError):
    """A conditional write lost: the record was not in the state the writer expected."""


class InsufficientCredits(ReelgateError):
    pass


class QueueFull(ReelgateError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"MAX_QUEUE_LENGTH ({limit}) reached")
        self.limit = limit
