"""SSE fan-out: 1,000 clients (asyncio, one process, loopback) follow one running
job that prints 10 timestamped lines a second.

Every client must receive identical bytes, equal to the job's log; the latency of
each line to each client (print inside the container -> client) is recorded. The
clients all connect while the job sleeps, before its first line.

    python -m bench.sse_fanout [--clients 1000] [--seconds 30] [--rate 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

from bench.live_support import (
    SseStream,
    cpu_seconds,
    exit_cleanly_on_sigterm,
    machine,
    open_sse,
    raise_fd_limit,
    scripter_server,
    summary_ms,
)

SCRIPT = """\
import os, time
LINES, RATE, WARMUP = {lines}, {rate}, {warmup}
time.sleep(WARMUP)  # every client connects meanwhile
for i in range(LINES):
    os.write(1, f"{{i:06d}} {{time.time_ns()}} fan-out line\\n".encode())
    time.sleep(1 / RATE)
"""


async def measure(
    clients: int,
    seconds: float,
    rate: float,
    warmup: float,
    env: dict[str, str] | None = None,
    latencies: list[int] | None = None,
) -> dict[str, Any]:
    """``env``: more server settings (the stack); ``latencies``, when given, receives
    every raw latency (ns)."""
    raise_fd_limit()
    lines = int(seconds * rate)
    with scripter_server(env) as server:
        script_id = server.seed_script(SCRIPT.format(lines=lines, rate=rate, warmup=warmup))
        job_id = server.run(script_id)
        samples: list[int] = []
        late_lines = 0
        first_line = asyncio.Event()

        def recorder(stream: SseStream) -> Any:
            def on_chunk(text: str, _end: int, now: int) -> None:
                nonlocal late_lines
                for line in text.splitlines():
                    stamp = int(line.split(" ")[1])
                    if stamp > stream.connected_ns:
                        samples.append(now - stamp)
                    else:
                        late_lines += 1  # printed before this client connected

            return on_chunk

        streams = [
            SseStream(
                f"/api/jobs/{job_id}/log/stream",
                keep_text=True,
                defer=True,
                after_first=first_line,
                headers=server.auth_headers,
            )
            for _ in range(clients)
        ]
        for stream in streams:
            stream.on_chunk = recorder(stream)
        started = time.monotonic()
        for first in range(0, clients, 50):
            await asyncio.gather(*(open_sse(server.port, s) for s in streams[first : first + 50]))
        connect_seconds = time.monotonic() - started
        job = await asyncio.to_thread(server.wait_job, job_id, leave=("queued",))
        # CPU while the lines flow: from the first line to the last client's end.
        await asyncio.wait_for(first_line.wait(), warmup + 60)
        server_cpu, client_cpu = cpu_seconds(server.pid), cpu_seconds(os.getpid())
        wall = time.monotonic()
        await asyncio.wait_for(
            asyncio.gather(*(s.done for s in streams if s.done is not None)),
            timeout=warmup + seconds + 300,
        )
        wall = time.monotonic() - wall
        for stream in streams:
            stream.replay()
        server_cpu = (cpu_seconds(server.pid) - server_cpu) / wall
        client_cpu = (cpu_seconds(os.getpid()) - client_cpu) / wall
        job = server.job(job_id)
        log = (server.data / job["log_path"]).read_bytes().decode()
    texts = {s.text for s in streams}
    if latencies is not None:
        latencies.extend(samples)
    return {
        "benchmark": "SSE fan-out",
        "machine": machine(),
        "clients": clients,
        "lines": lines,
        "rate_per_second": rate,
        "job_status": job["status"],
        "connect_seconds_all_clients": round(connect_seconds, 2),
        "all_identical_and_equal_to_the_log": texts == {log},
        "clients_with_end_event": sum(1 for s in streams if s.outcome is not None),
        "lines_printed_before_a_client_connected": late_lines,
        "latency_ms": summary_ms(samples),
        "server_cpu_cores_while_streaming": round(server_cpu, 2),
        "client_cpu_cores_while_streaming": round(client_cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=10.0, help="lines per second")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the first line")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    result = asyncio.run(measure(args.clients, args.seconds, args.rate, args.warmup))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
