"""Errors the domain and services raise; the HTTP layer maps each kind to a status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user or client can cause."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The thing asked for does not exist (HTTP 404)."""


class InvalidInput(DomainError):
    """The input breaks a rule; nothing was changed (HTTP 422)."""


class Conflict(DomainError):
    """The request is valid but the current state forbids it (HTTP 409)."""


class IllegalTransition(Conflict):
    """A state machine refused a transition, e.g. starting a job twice."""


class ConcurrentUpdate(Conflict):
    """Someone else changed the record between our read and our write."""


class PayloadTooLarge(DomainError):
    """An upload is over the configured size limit (HTTP 413)."""
