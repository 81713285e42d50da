"""Who may use the API: whoever holds the access token.

API clients send the token (``Authorization: Bearer``); the browser UI trades it
once for a session cookie. The cookie's value is derived from the token
(HMAC-SHA256 of a fixed label, keyed with the token), so every api process that
shares the data directory accepts it without any shared session state, and a
rotated token invalidates every cookie at once. Tokens are compared in constant
time. Wrong tokens are counted per client address: past the limit the address
waits (``TooManyFailures``) without its attempts being checked at all.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import deque
from dataclasses import dataclass

from scripter.domain.clock import Clock
from scripter.domain.ports import AccessTokenStore

SESSION_LABEL = b"scripter-session"


class NotAuthenticated(Exception):
    """No credentials, or wrong ones."""


class TooManyFailures(Exception):
    """Too many wrong tokens from this address lately; ``retry_after`` seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, kw_only=True)
class AuthSettings:
    max_failures: int = 10
    """Wrong tokens an address may send within ``window_seconds``."""
    window_seconds: float = 60.0
    max_addresses: int = 10_000
    """Addresses remembered at once: a flood from many addresses costs bounded memory
    (the oldest are forgotten first)."""


class FailedLogins:
    """A sliding window of failure times per client address."""

    def __init__(self, clock: Clock, settings: AuthSettings) -> None:
        self._clock = clock
        self._settings = settings
        self._failures: dict[str, deque[float]] = {}

    def wait_seconds(self, address: str) -> float:
        """How long ``address`` must wait before its next attempt counts (0: now)."""
        times = self._failures.get(address)
        if not times:
            return 0.0
        now = self._now()
        self._expire(times, now)
        if not times:
            del self._failures[address]
            return 0.0
        if len(times) < self._settings.max_failures:
            return 0.0
        return max(times[0] + self._settings.window_seconds - now, 0.0)

    def record(self, address: str) -> None:
        now = self._now()
        times = self._failures.pop(address, None) or deque()
        self._expire(times, now)
        times.append(now)
        # Re-inserted last: the dict stays ordered from least to most recently failed.
        self._failures[address] = times
        while len(self._failures) > self._settings.max_addresses:
            del self._failures[next(iter(self._failures))]

    def clear(self, address: str) -> None:
        self._failures.pop(address, None)

    def _expire(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self._settings.window_seconds:
            times.popleft()

    def _now(self) -> float:
        return self._clock.now().timestamp()


class Authenticator:
    """Checks tokens and session cookies against the current access token."""

    def __init__(
        self, tokens: AccessTokenStore, clock: Clock, settings: AuthSettings | None = None
    ) -> None:
        self.tokens = tokens
        self.settings = settings or AuthSettings()
        self.failures = FailedLogins(clock, self.settings)

    def check_token(self, presented: str, address: str) -> None:
        """Accept ``presented`` from ``address`` or raise ``NotAuthenticated`` (counted)
        or ``TooManyFailures``. Raises ``TokenUnavailable`` when there is no token."""
        wait = self.failures.wait_seconds(address)
        if wait > 0:
            raise TooManyFailures(max(math.ceil(wait), 1))
        if not _same(_bytes(presented), _bytes(self.tokens.current())):
            self.failures.record(address)
            raise NotAuthenticated("the access token is not valid")
        self.failures.clear(address)

    def session_value(self) -> str:
        """The session cookie's value for the current token."""
        return hmac.new(self.tokens.current().encode(), SESSION_LABEL, hashlib.sha256).hexdigest()

    def check_session(self, value: str) -> bool:
        """Whether a session cookie is valid now. Not counted as a failure when it
        is not: a cookie from before a rotation is no guess, and a browser sends it
        with every request until it is told to drop it (the value is 256 bits of
        HMAC, no easier to guess than the token)."""
        return _same(_bytes(value), _bytes(self.session_value()))


def _same(presented: bytes, expected: bytes) -> bool:
    # Digests first: compare_digest takes constant time only for equal lengths.
    return hmac.compare_digest(
        hashlib.sha256(presented).digest(), hashlib.sha256(expected).digest()
    )


def _bytes(text: str) -> bytes:
    # A JSON body may carry lone surrogates: they must compare unequal, not raise.
    return text.encode("utf-8", "surrogatepass")
