"""The access check: tokens, session values and the failed-login window."""

from __future__ import annotations

import pytest

from scripter.domain.ports import TokenUnavailable
from scripter.services.auth import (
    Authenticator,
    AuthSettings,
    FailedLogins,
    NotAuthenticated,
    TooManyFailures,
)
from tests.unit.fakes import FixedClock


class MemoryTokens:
    """``AccessTokenStore`` in memory."""

    def __init__(self, token: str | None = "right") -> None:
        self.token = token

    def current(self) -> str:
        if self.token is None:
            raise TokenUnavailable("none")
        return self.token

    def ensure(self) -> tuple[str, bool]:
        made = self.token is None
        if made:
            self.token = "made"
        return self.current(), made

    def rotate(self) -> str:
        self.token = f"{self.token}-rotated"
        return self.token


def make(
    max_failures: int = 3, window: float = 60.0
) -> tuple[Authenticator, MemoryTokens, FixedClock]:
    tokens, clock = MemoryTokens(), FixedClock()
    settings = AuthSettings(max_failures=max_failures, window_seconds=window)
    return Authenticator(tokens, clock, settings), tokens, clock


def test_the_right_token_passes_and_a_wrong_one_does_not():
    auth, _, _ = make()
    auth.check_token("right", "a")
    for wrong in ("wrong", "", "righ", "right ", "RIGHT", "\ud800"):
        with pytest.raises(NotAuthenticated):
            auth.check_token(wrong, "a")
        auth.failures.clear("a")


def test_session_value_is_derived_from_the_token_and_ends_with_it():
    auth, tokens, _ = make()
    value = auth.session_value()
    assert value != "right" and len(value) == 64
    assert auth.check_session(value)
    assert not auth.check_session(value[:-1] + ("0" if value[-1] != "0" else "1"))
    assert not auth.check_session("right")
    # Another process computes the same value from the same token.
    assert Authenticator(MemoryTokens(), FixedClock()).session_value() == value
    tokens.rotate()
    assert not auth.check_session(value)


def test_failures_block_an_address_until_the_oldest_leaves_the_window():
    auth, _, clock = make(max_failures=3, window=60)
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            auth.check_token("wrong", "a")
        clock.advance(seconds=10)
    with pytest.raises(NotAuthenticated):
        auth.check_token("wrong", "a")
    # Three failures at t=0, 10, 20: blocked until t=60, even with the right token.
    with pytest.raises(TooManyFailures) as blocked:
        auth.check_token("right", "a")
    assert blocked.value.retry_after == 40
    auth.check_token("right", "b")  # another address is not affected
    clock.advance(seconds=39)
    with pytest.raises(TooManyFailures) as still:
        auth.check_token("right", "a")
    assert still.value.retry_after == 1
    clock.advance(seconds=1)
    auth.check_token("right", "a")


def test_a_success_forgets_the_failures():
    auth, _, _ = make(max_failures=3)
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            auth.check_token("wrong", "a")
    auth.check_token("right", "a")
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            auth.check_token("wrong", "a")
    auth.check_token("right", "a")


def test_old_failures_expire_one_by_one():
    limiter = FailedLogins(clock := FixedClock(), AuthSettings(max_failures=2, window_seconds=60))
    limiter.record("a")
    clock.advance(seconds=59)
    limiter.record("a")
    assert limiter.wait_seconds("a") == pytest.approx(1)
    clock.advance(seconds=1)
    assert limiter.wait_seconds("a") == 0
    limiter.record("a")
    assert limiter.wait_seconds("a") == pytest.approx(59)


def test_memory_is_bounded_by_forgetting_the_oldest_addresses():
    clock = FixedClock()
    limiter = FailedLogins(clock, AuthSettings(max_failures=1, max_addresses=3))
    for address in ("a", "b", "c", "d"):
        limiter.record(address)
    assert limiter.wait_seconds("a") == 0
    assert all(limiter.wait_seconds(x) > 0 for x in ("b", "c", "d"))


def test_no_token_is_not_a_failure():
    auth, tokens, _ = make(max_failures=1)
    tokens.token = None
    for _ in range(3):
        with pytest.raises(TokenUnavailable):
            auth.check_token("anything", "a")
    tokens.token = "right"
    auth.check_token("right", "a")
