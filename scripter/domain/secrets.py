"""Secret values masked in the logs that the API serves.

A job's log file holds what the job printed, secrets included: the file stays raw
(the job writes it itself), and every way the API serves it replaces each secret
value with ``****``. Byte offsets keep counting the raw file, so a client resumes
or asks for a range exactly as without masking.

The rule, position by position: a byte of the raw log is *covered* if it lies in
some occurrence of some secret (occurrences may overlap, and secrets may overlap
each other). Each maximal run of covered bytes is served as one ``****``, emitted
by the read that holds the run's first byte; uncovered bytes are served as they
are. Serving is therefore a function of the position alone: reading a log in any
pieces and joining them gives the same bytes as reading it whole, and no piece
shows any byte of a secret, even one split across two reads or two writes.

To decide whether the bytes of ``[start, end)`` are covered, a read needs
``lookaround`` bytes before and after them (the longest secret). At the current end
of a log that still grows, the bytes after are unknown: a tail that could be the
start of a secret is held back (``hold``) until the log grows or ends.

Values shorter than ``MIN_SECRET_BYTES`` are not masked: ``****`` for every ``1``
or ``ab`` of the output would wreck the log, and so short a value is not kept
secret by masking anyway (the masks' places would give it away).
"""

from __future__ import annotations

from collections.abc import Iterable

MASK = b"****"
MIN_SECRET_BYTES = 4
"""Secret values shorter than this (in UTF-8 bytes) are not masked."""


class SecretMask:
    """Masks a set of secret values in byte ranges of a log."""

    def __init__(self, secrets: Iterable[str | bytes]) -> None:
        patterns = {s.encode() if isinstance(s, str) else s for s in secrets}
        self._secrets = sorted(
            (p for p in patterns if len(p) >= MIN_SECRET_BYTES), key=len, reverse=True
        )

    def __bool__(self) -> bool:
        return bool(self._secrets)

    @property
    def lookaround(self) -> int:
        """How many bytes a read needs on each side of the range it serves."""
        return len(self._secrets[0]) if self._secrets else 0

    def mask(self, window: bytes, window_start: int, start: int, end: int) -> bytes:
        """The bytes served for the raw range ``[start, end)``.

        ``window`` is the raw log from offset ``window_start``; it must hold
        ``[start - lookaround, end + lookaround)`` as far as the log has those bytes
        (less only at the log's start, or at its end when ``end`` is at most
        ``hold``'s limit: see there).
        """
        if not self._secrets or start >= end:
            return window[start - window_start : end - window_start]
        runs = self._covered_runs(window)
        out = bytearray()
        position = start
        for run_start, run_end in runs:
            first, last = run_start + window_start, run_end + window_start
            if last <= start:
                continue
            if first >= end:
                break
            if first > position:
                out += window[position - window_start : first - window_start]
            if first >= start:
                out += MASK  # the run starts here: this read shows its mask
            position = max(position, min(last, end))
        if position < end:
            out += window[position - window_start : end - window_start]
        return bytes(out)

    def hold(self, data: bytes) -> int:
        """How many bytes at the end of ``data`` could be the start of a secret whose
        rest is not written yet: the longest tail of ``data`` that is a proper prefix
        of a secret. ``data`` ends where the log ends for now (or where a read
        stopped); everything before the held tail can be served, and its masking
        will not change whatever follows."""
        size = len(data)
        held = 0
        for secret in self._secrets:
            first = secret[:1]
            # A candidate start: within the last len(secret) - 1 bytes, beyond the tail
            # already held (a longer hold covers a shorter one).
            begin = max(size - len(secret) + 1, 0)
            stop = size - held
            index = data.find(first, begin, stop)
            while index != -1:
                if secret.startswith(data[index:]):
                    held = size - index
                    break
                index = data.find(first, index + 1, stop)
        return held

    def _covered_runs(self, window: bytes) -> list[tuple[int, int]]:
        """Maximal runs of covered bytes of ``window``, as sorted ``(start, end)``
        positions in it (touching or overlapping occurrences make one run)."""
        spans: list[tuple[int, int]] = []
        for secret in self._secrets:
            length = len(secret)
            index = window.find(secret)
            while index != -1:
                spans.append((index, index + length))
                # Overlapping occurrences too ("aaaa" in "aaaaaa" covers all six).
                index = window.find(secret, index + 1)
        if not spans:
            return []
        spans.sort()
        runs = [spans[0]]
        for span_start, span_end in spans[1:]:
            run_start, run_end = runs[-1]
            if span_start <= run_end:
                if span_end > run_end:
                    runs[-1] = (run_start, span_end)
            else:
                runs.append((span_start, span_end))
        return runs


NO_SECRETS = SecretMask(())
