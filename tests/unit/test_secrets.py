"""Secret masking of served logs: every split of the log serves the same bytes, and
no piece shows any byte of a secret."""

from __future__ import annotations

import itertools
import random

import pytest

from scripter.domain.secrets import MASK, MIN_SECRET_BYTES, SecretMask


def reference(data: bytes, secrets: list[bytes]) -> bytes:
    """The rule spelled out naively: covered bytes, one mask per run of them."""
    secrets = [s for s in secrets if len(s) >= MIN_SECRET_BYTES]
    covered = [False] * len(data)
    for secret in secrets:
        for i in range(len(data) - len(secret) + 1):
            if data[i : i + len(secret)] == secret:
                for j in range(i, i + len(secret)):
                    covered[j] = True
    out = bytearray()
    for i, byte in enumerate(data):
        if not covered[i]:
            out.append(byte)
        elif i == 0 or not covered[i - 1]:
            out += MASK
    return bytes(out)


def served_range(mask: SecretMask, data: bytes, start: int, end: int) -> bytes:
    """What a range read serves, with the window it is contracted to get."""
    window_start = max(0, start - mask.lookaround)
    window = data[window_start : end + mask.lookaround]
    return mask.mask(window, window_start, start, end)


def served_in_pieces(mask: SecretMask, data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *cuts, len(data)]
    return [served_range(mask, data, a, b) for a, b in itertools.pairwise(bounds)]


def served_live(mask: SecretMask, writes: list[bytes]) -> list[bytes]:
    """A follower of a growing log: after each write it serves what it may (holding a
    possible start of a secret back); once the log ended, the rest."""
    log = b""
    sent = 0
    pieces: list[bytes] = []
    for write in writes:
        log += write
        end = len(log) - mask.hold(log[max(0, sent - mask.lookaround) :])
        end = max(end, sent)
        pieces.append(served_range(mask, log, sent, end))
        sent = end
    pieces.append(served_range(mask, log, sent, len(log)))
    return pieces


SECRET = "s3cr3t-Tøken✓"
CASES = [
    # (log, secrets)
    (f"token={SECRET}\nagain {SECRET}{SECRET}\n", [SECRET]),
    ("abcdef abcd cdef xxabcdefyy", ["abcd", "cdef"]),  # overlapping secrets
    ("aaaaaaaaaa b aaaa aaa", ["aaaa"]),  # overlapping occurrences of one
    ("ab" * 20, ["abab", "babab"]),
    ("héllo wörld ✓✓✓ 日本語 日本", ["日本語", "wörld", "✓✓"]),  # multi-byte
    ("short 123 ab", ["123", "ab", ""]),  # too short: not masked
    ("nothing here\n", ["absent-secret"]),
    ("prefix at the very end: s3cr", ["s3cr3t"]),
    ("x" * 50 + "long-secret-value" + "y" * 50, ["long-secret-value", "secret"]),
    ("\n\r\n line\rbreaks in\nsecret\n", ["in\nsecret\n", "breaks"]),
]


@pytest.mark.parametrize(("text", "secrets"), CASES)
def test_the_whole_log_is_masked_as_the_rule_says(text: str, secrets: list[str]):
    data = text.encode()
    mask = SecretMask(secrets)
    expected = reference(data, [s.encode() for s in secrets])
    assert served_range(mask, data, 0, len(data)) == expected


@pytest.mark.parametrize(("text", "secrets"), CASES)
def test_any_two_or_three_pieces_join_to_the_whole(text: str, secrets: list[str]):
    data = text.encode()
    mask = SecretMask(secrets)
    whole = reference(data, [s.encode() for s in secrets])
    for cut in range(len(data) + 1):
        assert b"".join(served_in_pieces(mask, data, [cut])) == whole, cut
    for a, b in itertools.combinations(range(0, len(data) + 1, 3), 2):
        assert b"".join(served_in_pieces(mask, data, [a, b])) == whole, (a, b)


@pytest.mark.parametrize(("text", "secrets"), CASES)
def test_no_piece_shows_a_byte_of_a_secret_it_cuts(text: str, secrets: list[str]):
    data = text.encode()
    mask = SecretMask(secrets)
    maskable = [s.encode() for s in secrets if len(s.encode()) >= MIN_SECRET_BYTES]
    for cut in range(1, len(data)):
        left, right = served_in_pieces(mask, data, [cut])
        for secret in maskable:
            assert secret not in left + right
            # The two sides of a secret cut in two: neither shows its part.
            for k in range(1, len(secret)):
                if data[cut - k : cut - k + len(secret)] == secret:
                    assert not left.endswith(secret[:k]) or secret[:k] == MASK[-k:]
                    assert not right.startswith(secret[k:])


@pytest.mark.parametrize(("text", "secrets"), CASES)
def test_a_growing_log_split_into_any_writes_serves_the_whole(text: str, secrets: list[str]):
    data = text.encode()
    mask = SecretMask(secrets)
    whole = reference(data, [s.encode() for s in secrets])
    for cut in range(len(data) + 1):
        pieces = served_live(mask, [data[:cut], data[cut:]])
        assert b"".join(pieces) == whole, cut
        # What was served before the end shows no secret, not even a part of one.
        for secret in secrets:
            if len(secret.encode()) >= MIN_SECRET_BYTES:
                assert secret.encode() not in pieces[0]


def test_random_logs_writes_and_ranges_agree_with_the_rule():
    rng = random.Random(20261128)
    alphabet = "ab✓\n"
    for _ in range(300):
        secrets = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 7)))]
        secrets += ["".join(rng.choice(alphabet) for _ in range(rng.randint(4, 9)))]
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        data = text.encode()
        mask = SecretMask(secrets)
        whole = reference(data, [s.encode() for s in secrets])
        cuts = sorted(rng.sample(range(len(data) + 1), min(len(data) + 1, 4)))
        assert b"".join(served_in_pieces(mask, data, cuts)) == whole
        writes = [data[a:b] for a, b in itertools.pairwise([0, *cuts, len(data)])]
        assert b"".join(served_live(mask, writes)) == whole


def test_hold_is_the_longest_tail_that_may_begin_a_secret():
    mask = SecretMask(["secret", "cretin", "xy"])
    assert mask.hold(b"my sec") == 3
    assert mask.hold(b"my secret!") == 0  # whole: maskable now
    assert mask.hold(b"my secret") == 4  # whole, but "cret" may begin "cretin"
    assert mask.hold(b"my secre") == 5  # "secre", though "cre" also begins "cretin"
    assert mask.hold(b"nothing") == 0
    assert mask.hold(b"x") == 0  # "xy" is too short to be a secret at all
    assert mask.hold(b"") == 0
    assert mask.hold("…✓".encode()[:-1]) == 0


def test_short_and_empty_values_are_not_masked():
    mask = SecretMask(["", "abc", "1"])
    assert not mask and mask.lookaround == 0
    assert mask.mask(b"abc 1", 0, 0, 5) == b"abc 1"
    assert SecretMask(["abcd"]).mask(b"abcd", 0, 0, 4) == MASK


def test_a_four_byte_value_of_one_character_is_masked():
    emoji = "🙂"  # 4 bytes in UTF-8: long enough
    data = f"a{emoji}b".encode()
    assert SecretMask([emoji]).mask(data, 0, 0, len(data)) == b"a****b"
