"""Log latency: a line printed inside a running container, to an SSE client.

A real job prints timestamped lines (``time.time_ns()``, the host's clock: one
kernel) to its log file, as every job does, and the same line to the container's
own stdout (``/proc/1/fd/1``), which is what ``docker logs -f`` follows. One client
process follows both at once: the job's SSE stream and ``docker logs -f`` on the
same container. Each write is one ``write`` syscall; which of the two comes first
alternates from line to line.

    python -m bench.log_latency [--lines 1000] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import threading
import time

from bench.live_support import (
    SseStream,
    exit_cleanly_on_sigterm,
    machine,
    open_sse,
    scripter_server,
    summary_ms,
)

SCRIPT = """\
import os, sys, time
LINES, RATE, WARMUP = {lines}, {rate}, {warmup}
docker_out = os.open("/proc/1/fd/1", os.O_WRONLY)  # the container's stdout: docker logs
time.sleep(WARMUP)  # both followers attach meanwhile
for i in range(LINES):
    line = f"{{i}} {{time.time_ns()}}\\n".encode()
    if i % 2:
        os.write(1, line); os.write(docker_out, line)
    else:
        os.write(docker_out, line); os.write(1, line)
    time.sleep(1 / RATE)
"""


def _record(samples: list[int], received_ns: int, text: str) -> None:
    for line in text.splitlines():
        _seq, _, stamp = line.partition(" ")
        if stamp:
            samples.append(received_ns - int(stamp))


def _docker_logs(container: str, samples: list[int]) -> None:
    """Follows ``docker logs -f`` in a thread until the container ends."""
    with subprocess.Popen(["docker", "logs", "-f", container], stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        for line in process.stdout:
            _record(samples, time.time_ns(), line.decode())


async def measure(
    lines: int,
    rate: float,
    env: dict[str, str] | None = None,
    samples: dict[str, list[int]] | None = None,
) -> dict[str, object]:
    """``env``: more server settings (the stack); ``samples``, when given, receives the
    raw latencies (ns) under ``sse`` and ``docker_logs``."""
    with scripter_server(env) as server:
        script_id = server.seed_script(SCRIPT.format(lines=lines, rate=rate, warmup=4))
        job_id = server.run(script_id)
        sse_samples: list[int] = []
        docker_samples: list[int] = []
        stream = SseStream(
            f"/api/jobs/{job_id}/log/stream",
            on_chunk=lambda text, _end, now: _record(sse_samples, now, text),
            headers=server.auth_headers,
        )
        await open_sse(server.port, stream)
        await asyncio.to_thread(server.wait_job, job_id, leave=("queued",))
        follower = threading.Thread(
            target=_docker_logs, args=(server.container_name(job_id), docker_samples)
        )
        follower.start()
        assert stream.done is not None
        await asyncio.wait_for(stream.done, timeout=lines / rate + 120)
        await asyncio.to_thread(follower.join, 60)
        job = server.job(job_id)
    if samples is not None:
        samples["sse"], samples["docker_logs"] = sse_samples, docker_samples
    return {
        "benchmark": "log latency: container print -> client",
        "machine": machine(),
        "lines": lines,
        "rate_per_second": rate,
        "job_status": job["status"],
        "sse_ms": summary_ms(sse_samples),
        "docker_logs_ms": summary_ms(docker_samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="lines per second")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    result = asyncio.run(measure(args.lines, args.rate))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
