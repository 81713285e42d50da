"""The machine a run measured on, for the report's header."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from bench.results import Machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def docker_version() -> str:
    try:
        done = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def this_machine() -> Machine:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return Machine(
        cpu_count=os.cpu_count() or 0,
        cpu_model=cpu_model(),
        memory_gib=round(memory, 1),
        kernel=platform.release(),
        docker_version=docker_version(),
        python=platform.python_version(),
        architecture=platform.machine(),
    )


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]
