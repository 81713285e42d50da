"""``--profile``: py-spy samples a server process while the benchmark runs (the
``bench`` extra installs it; it needs ptrace rights, which root has). The raw
profile (collapsed stacks, one line per stack with its sample count; load it into
speedscope or flamegraph.pl) lands in ``docs/bench/profiles/``; the report gets
the functions that were on the CPU most."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOP = 15
_STDLIB = re.compile(r"python3\.\d+/")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass
class PySpy:
    process: subprocess.Popen[bytes] | None
    pid: int
    output: Path
    error: str | None = None

    @classmethod
    def start(cls, pid: int, output: Path, rate: int = 100) -> PySpy:
        beside_python = Path(sys.executable).parent / "py-spy"  # the venv's, unactivated
        executable = str(beside_python) if beside_python.is_file() else shutil.which("py-spy")
        if executable is None:
            return cls(None, pid, output, error="py-spy is not installed (the bench extra)")
        output.parent.mkdir(parents=True, exist_ok=True)
        command = [executable, "record", "--pid", str(pid), "--rate", str(rate)]
        # --gil: only samples that hold the GIL, i.e. Python on the CPU (threads that
        # wait for the engine or a socket do not count).
        command += ["--format", "raw", "--output", str(output), "--gil"]
        try:
            process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
            )
        except OSError as exc:
            return cls(None, pid, output, error=f"py-spy did not start: {exc}")
        return cls(process, pid, output)

    def stop(self) -> dict[str, Any]:
        """Stop sampling (if the process has not ended yet); the profile's summary."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
            try:
                _, stderr = self.process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                _, stderr = self.process.communicate()
            if not self.output.is_file():
                self.error = self.error or stderr.decode(errors="replace")[-500:]
        summary: dict[str, Any] = {"pid": self.pid, "file": self.output.name}
        if self.error is not None or not self.output.is_file():
            summary["error"] = self.error or "no profile written"
            return summary
        summary.update(summarize(self.output.read_text()))
        return summary


def frame_name(frame: str) -> str:
    """``function (path/to/module.py:12)`` -> ``module.py:function``, shorter paths
    for the report (site-packages and the checkout dropped)."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/scripter/" in path:
        path = "scripter/" + path.split("/scripter/", 1)[1]
    else:
        path = _STDLIB.split(path, maxsplit=1)[-1]
    return f"{path}:{match['function']}"


def _entry(name: str) -> bool:
    """The command line's frames, under every stack of the main thread."""
    return name.startswith(("scripter/cli.py:", "scripter/__main__.py:"))


def summarize(collapsed: str) -> dict[str, Any]:
    """From py-spy's raw format: the share of samples where each function was on top
    of the stack (self), and, for Scripter's own functions, anywhere on it."""
    self_time: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        for name in {f for f in frames if f.startswith("scripter/") and not _entry(f)}:
            ours[name] += count

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(TOP)]

    return {
        "samples": total,
        "top_self_percent": share(self_time) if total else [],
        "top_scripter_inclusive_percent": share(ours) if total else [],
    }
