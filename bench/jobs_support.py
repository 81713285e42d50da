"""What the job benchmarks share: a Scripter server on the chosen stack with the
trivial script, the same command as a plain ``docker run --rm``, and waiting until
the engine is quiet again between runs."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.events import EventStream
from bench.live_support import Server, scripter_server
from bench.services import BENCH_LABEL, remove_labelled_containers, stack_env

TRIVIAL = "print(1)\n"


@dataclass
class JobSetup:
    server: Server
    events: EventStream
    script_id: int
    image_tag: str
    source: Path
    """A folder with the script's ``main.py``, for the baseline's bind mount."""

    def docker_command(self) -> list[str]:
        """What a user would type for the same image and command: ``python3 main.py``
        in a folder holding the script, no network (as Scripter's default)."""
        return [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--label",
            f"{BENCH_LABEL}={self.server.namespace}",
            "-v",
            f"{self.source}:/src:ro",
            "-w",
            "/src",
            self.image_tag,
            "python3",
            "main.py",
        ]

    async def docker_run(self) -> float:
        """One ``docker run --rm`` to its end (the CLI returns once the container is
        gone); its wall time in seconds."""
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *self.docker_command(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), 300)
        except TimeoutError:
            process.kill()
            raise
        seconds = time.perf_counter() - started
        if process.returncode != 0 or out != b"1\n":
            raise RuntimeError(f"docker run failed ({process.returncode}): {err[-500:]!r}")
        return seconds

    async def run_job(self) -> tuple[float, int, float]:
        """POST /runs, then the ``job.finished`` event: (seconds, job id, the
        wall-clock time of the POST)."""
        wall = time.time()
        started = time.perf_counter()
        job = await asyncio.to_thread(
            self.server.request, "POST", f"/api/scripts/{self.script_id}/runs"
        )
        arrival = await self.events.finished(int(job["id"]), timeout=300)
        if arrival.data.get("status") != "succeeded":
            raise RuntimeError(f"job {job['id']} ended {arrival.data}")
        return arrival.perf - started, int(job["id"]), wall

    async def wait_quiet(self, job_ids: list[int], timeout: float = 60) -> None:
        """Until no container of these jobs is left: the worker removes them after it
        recorded the end, and that removal must not overlap the next measurement."""
        await asyncio.to_thread(self._wait_containers_gone, set(job_ids), timeout)

    def _wait_containers_gone(self, job_ids: set[int], timeout: float) -> None:
        import docker

        client = docker.from_env()
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                # The low-level list: the high-level one inspects each container, and
                # fails on one removed in between.
                left = client.api.containers(
                    all=True, filters={"label": f"scripter.namespace={self.server.namespace}"}
                )
                labels = [c.get("Labels") or {} for c in left]
                if not any(int(ls.get("scripter.job_id", -1)) in job_ids for ls in labels):
                    return
                time.sleep(0.05)
        finally:
            client.close()


def breakdown(job: dict[str, Any], posted_wall: float, event_wall: float) -> dict[str, float]:
    """Where a job's time went, from the server's timestamps (one clock with ours):
    milliseconds from the POST to the row, to the container running, to the recorded
    end, to the event at the client."""
    from datetime import datetime

    def ts(name: str) -> float:
        return datetime.fromisoformat(job[name]).timestamp()

    return {
        "post_to_queued": (ts("created_at") - posted_wall) * 1000,
        "queued_to_running": (ts("started_at") - ts("created_at")) * 1000,
        "running_to_finished": (ts("finished_at") - ts("started_at")) * 1000,
        "finished_to_event": (event_wall - ts("finished_at")) * 1000,
    }


def _write_source(folder: Path) -> None:
    (folder / "main.py").write_text(TRIVIAL)
    folder.chmod(0o755)  # readable by the container's user, whoever it is
    (folder / "main.py").chmod(0o644)


@contextlib.asynccontextmanager
async def job_setup(stack: str, **settings: str) -> AsyncIterator[JobSetup]:
    """A ``scripter serve`` on ``stack`` with ``settings``, the trivial script on the
    bench image, and a follower of the events stream. Everything it made (database,
    queues, containers, images) is removed afterwards."""
    with (
        stack_env(stack) as env,
        scripter_server({**env, **settings}) as server,
        tempfile.TemporaryDirectory(prefix="scripter-bench-src-") as source,
    ):
        try:
            _write_source(Path(source))
            # A new script's defaults (no limits given): what a user gets.
            await asyncio.to_thread(server.wait_healthy)
            script_id = await asyncio.to_thread(server.seed_script, TRIVIAL, limits=None)
            image = await asyncio.to_thread(server.bench_image)
            events = await EventStream.open(server)
            try:
                yield JobSetup(server, events, script_id, str(image["tag"]), Path(source))
            finally:
                events.close()
        finally:
            remove_labelled_containers(BENCH_LABEL, server.namespace)
