"""``DockerRuntime`` against the real Docker engine (no mocks).

Every container and image made here carries ``TEST_LABEL`` and is removed by a
fixture finalizer, also when the test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from scripter.adapters.docker_runtime import DockerRuntime
from scripter.domain.ports import BuildFailed, ContainerSpec, Mount, WaitTimedOut
from tests.conftest import TEST_BASE_IMAGE, TEST_LABEL, require_service

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def docker_client() -> Iterator[docker.DockerClient]:
    """A plain SDK client for checks and cleanup, independent of the code under test."""
    try:
        client = docker.DockerClient()
        client.ping()
    except Exception as e:
        require_service("Docker engine", False, str(e))
        raise  # unreachable: require_service skipped or failed
    try:
        client.images.get(TEST_BASE_IMAGE)
    except docker.errors.ImageNotFound:
        require_service(
            f"Docker image {TEST_BASE_IMAGE}", False, "run .ci/ensure-test-base-image.sh"
        )
    yield client
    client.close()


@dataclass
class Made:
    """What a test made, so the finalizer can remove it."""

    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    value: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    """This test's value of ``TEST_LABEL``, for finding exactly its containers."""


@pytest.fixture
def made(docker_client: docker.DockerClient) -> Iterator[Made]:
    made = Made()
    yield made
    for container_id in made.containers:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.api.remove_container(container_id, force=True)
    for reference in made.images:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.api.remove_image(reference, force=True)


@pytest.fixture
async def runtime(docker_client: docker.DockerClient) -> AsyncIterator[DockerRuntime]:
    rt = DockerRuntime()
    yield rt
    await rt.close()


def spec(
    made: Made, command: list[str], labels: dict[str, str] | None = None, **kwargs: Any
) -> ContainerSpec:
    """A container of the base image that carries the test label."""
    all_labels = {TEST_LABEL: made.value, **(labels or {})}
    return ContainerSpec(image=TEST_BASE_IMAGE, command=command, labels=all_labels, **kwargs)


async def start(runtime: DockerRuntime, made: Made, container: ContainerSpec) -> str:
    container_id = await runtime.run(container)
    made.containers.append(container_id)
    return container_id


def tag_for(made: Made) -> str:
    return f"scripter-test-build:{made.value}"


async def build(
    runtime: DockerRuntime, made: Made, context: Path, on_line: list[str] | None = None
) -> str:
    tag = tag_for(made)
    made.images.append(tag)
    lines: list[str] = [] if on_line is None else on_line
    result = await runtime.build_image(
        context, tag, lines.append, labels={TEST_LABEL: made.value}, network_mode="host"
    )
    made.images.append(result.image_id)
    return result.image_id


# --- images ---------------------------------------------------------------------------


async def test_build_streams_lines_and_image_can_be_removed(
    runtime: DockerRuntime, made: Made, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    (tmp_path / "payload.txt").write_text("payload\n")
    (tmp_path / "Dockerfile").write_text(
        f"FROM {TEST_BASE_IMAGE}\n"
        "RUN echo hello-from-build\n"
        "COPY payload.txt /payload.txt\n"
        "ARG WHO\n"
        'RUN echo "arg=$WHO"\n'
        "RUN echo first && sleep 2 && echo second\n"
    )
    events: list[tuple[str, str]] = []
    tag = tag_for(made)
    made.images.append(tag)

    got_first = asyncio.Event()

    def on_line(line: str) -> None:
        events.append(("line", line))
        if line == "first":
            got_first.set()

    async def watch_for_first() -> None:
        # Runs on the loop while the build is in progress: it sees "first" arrive
        # while the build has not returned yet (the build sleeps 2 s after it).
        await got_first.wait()
        events.append(("seen-first-while-building", ""))

    watcher = asyncio.create_task(watch_for_first())
    result = await runtime.build_image(
        tmp_path,
        tag,
        on_line,
        labels={TEST_LABEL: made.value},
        network_mode="host",
        build_args={"WHO": "passed-in"},
    )
    events.append(("returned", ""))
    made.images.append(result.image_id)
    await asyncio.wait_for(watcher, 1)

    names = [e[0] if e[0] != "line" else e[1] for e in events]
    assert "hello-from-build" in names
    assert "arg=passed-in" in names
    hello, first, second = (names.index(n) for n in ("hello-from-build", "first", "second"))
    seen, returned = names.index("seen-first-while-building"), names.index("returned")
    assert hello < first < seen < second < returned
    assert returned == len(names) - 1, "every line is delivered before build_image returns"
    assert all("\n" not in e[1] for e in events)
    assert result.tag == tag
    assert result.image_id.startswith("sha256:")

    assert await runtime.image_exists(result.image_id)
    assert await runtime.image_exists(tag)
    labels = docker_client.images.get(result.image_id).labels
    assert labels[TEST_LABEL] == made.value

    await runtime.remove_image(tag)
    assert not await runtime.image_exists(result.image_id)
    await runtime.remove_image(tag)  # a second removal is fine
    await runtime.remove_image(result.image_id)
    assert not await runtime.image_exists("scripter-test-no-such-image:nope")


async def test_only_an_untagged_unused_image_is_removed(
    runtime: DockerRuntime, made: Made, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    def dockerfile(n: int) -> Path:
        (tmp_path / "Dockerfile").write_text(
            f"FROM {TEST_BASE_IMAGE}\nLABEL build={made.value}-{n}\n"
        )
        return tmp_path

    first = await build(runtime, made, dockerfile(1))
    assert not await runtime.remove_untagged_image(first)  # still tagged: stays
    in_use = await build(runtime, made, dockerfile(2))  # takes the tag: first is untagged
    assert docker_client.api.inspect_image(first)["RepoTags"] == []
    assert await runtime.remove_untagged_image(first)
    assert not await runtime.image_exists(first)
    assert not await runtime.remove_untagged_image(first)  # gone: nothing to do

    # A stopped container (a finished job not yet removed) holds its image too.
    container = docker_client.api.create_container(
        in_use, ["true"], labels={TEST_LABEL: made.value}
    )
    made.containers.append(container["Id"])
    await build(runtime, made, dockerfile(3))  # in_use loses the tag, a container has it
    assert not await runtime.remove_untagged_image(in_use)
    assert await runtime.image_exists(in_use)


async def test_failing_run_step_raises_build_failed(
    runtime: DockerRuntime, made: Made, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {TEST_BASE_IMAGE}\nRUN exit 3\n")
    lines: list[str] = []
    with pytest.raises(BuildFailed) as failed:
        await build(runtime, made, tmp_path, lines)
    assert "exit 3" in failed.value.message
    assert "non-zero code: 3" in failed.value.message
    assert failed.value.message in lines, "the error is also in the build log"


async def test_run_mount_without_buildkit_fails_clearly(
    runtime: DockerRuntime, made: Made, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text(
        f"FROM {TEST_BASE_IMAGE}\nRUN --mount=type=cache,target=/x true\n"
    )
    lines: list[str] = []
    with pytest.raises(BuildFailed) as failed:
        await build(runtime, made, tmp_path, lines)
    assert "mount" in failed.value.message.lower()
    assert "buildkit" in failed.value.message.lower()
    assert failed.value.message in lines


async def test_context_without_dockerfile_raises_build_failed(
    runtime: DockerRuntime, made: Made, tmp_path: Path
) -> None:
    (tmp_path / "something.txt").write_text("no Dockerfile here\n")
    with pytest.raises(BuildFailed) as failed:
        await build(runtime, made, tmp_path)
    assert "Dockerfile" in failed.value.message


async def test_dockerfile_the_engine_refuses_raises_build_failed(
    runtime: DockerRuntime, made: Made, tmp_path: Path
) -> None:
    # A parse error is an HTTP 400 from the engine, not an error in the build stream.
    (tmp_path / "Dockerfile").write_text(f"FROMM {TEST_BASE_IMAGE}\n")
    lines: list[str] = []
    with pytest.raises(BuildFailed) as failed:
        await build(runtime, made, tmp_path, lines)
    assert "unknown instruction: FROMM" in failed.value.message
    assert failed.value.message in lines


# --- containers -----------------------------------------------------------------------

SCRIPT = """\
import os, sys
print(os.environ["GREETING"])
print(open("/app/data.txt").read().strip())
try:
    open("/app/forbidden.txt", "w").write("x")
except OSError as e:
    print("read-only mount refused write:", e.errno)
"""


async def test_run_applies_spec_and_limits(
    runtime: DockerRuntime, made: Made, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    app, out = tmp_path / "app", tmp_path / "out"
    app.mkdir()
    out.mkdir()
    out.chmod(0o777)  # the container may run as another user than the test
    (app / "main.py").write_text(SCRIPT)
    (app / "data.txt").write_text("mounted-content\n")
    memory = 128 * 1024 * 1024
    container_id = await start(
        runtime,
        made,
        spec(
            made,
            ["sh", "-c", "python3 main.py > /out/result.txt 2>&1"],
            labels={"scripter.job": "42"},
            env={"GREETING": "hello-env"},
            mounts=[
                Mount(source=app, target="/app", read_only=True),
                Mount(source=out, target="/out", read_only=False),
            ],
            working_dir="/app",
            network_mode="none",
            memory_bytes=memory,
            nano_cpus=500_000_000,
            pids_limit=64,
            read_only_rootfs=True,
        ),
    )
    assert await runtime.wait(container_id, timeout=60) == 0
    assert (out / "result.txt").read_text().splitlines() == [
        "hello-env",
        "mounted-content",
        "read-only mount refused write: 30",  # EROFS
    ]
    assert not (app / "forbidden.txt").exists()

    attrs = docker_client.api.inspect_container(container_id)
    host = attrs["HostConfig"]
    assert host["Memory"] == memory
    assert host["MemorySwap"] == memory
    assert host["NanoCpus"] == 500_000_000
    assert host["PidsLimit"] == 64
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["AutoRemove"] is False
    assert attrs["Config"]["Labels"] == {TEST_LABEL: made.value, "scripter.job": "42"}
    assert attrs["Config"]["WorkingDir"] == "/app"
    mounts = {m["Destination"]: m for m in attrs["Mounts"]}
    assert mounts["/app"]["RW"] is False
    assert mounts["/app"]["Source"] == str(app)
    assert mounts["/out"]["RW"] is True


async def test_exit_code_propagates(runtime: DockerRuntime, made: Made) -> None:
    container_id = await start(
        runtime, made, spec(made, ["python3", "-c", "import sys; sys.exit(7)"])
    )
    assert await runtime.wait(container_id, timeout=60) == 7


async def test_start_failure_leaves_no_container(
    runtime: DockerRuntime, made: Made, docker_client: docker.DockerClient
) -> None:
    # Without an init: with one, the init starts fine and then fails to run the
    # program (exit 127), so the start itself does not fail.
    no_init = dataclasses.replace(spec(made, ["/no/such/program"]), init=False)
    with pytest.raises(docker.errors.APIError):
        await start(runtime, made, no_init)
    left = docker_client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={made.value}"})
    assert left == []


async def test_wait_timeout_then_stop_and_kill(runtime: DockerRuntime, made: Made) -> None:
    sleeper = await start(runtime, made, spec(made, ["sleep", "30"]))
    with pytest.raises(WaitTimedOut):
        await runtime.wait(sleeper, timeout=1)
    # sleep as PID 1 has no SIGTERM handler, so the kernel ignores SIGTERM and
    # Docker kills it once the grace period is over.
    await runtime.stop(sleeper, grace_seconds=1)
    assert await runtime.wait(sleeper, timeout=30) in (137, 143)

    other = await start(runtime, made, spec(made, ["sleep", "30"]))
    await runtime.kill(other)
    assert await runtime.wait(other, timeout=30) == 137

    # Already stopped, then removed, then missing: none of these is an error.
    await runtime.stop(other, grace_seconds=1)
    await runtime.kill(other)
    await runtime.remove_container(other)
    await runtime.remove_container(other)
    await runtime.stop(other)
    await runtime.kill(other)
    assert await runtime.list_containers({TEST_LABEL: made.value}) != []  # sleeper is left
    await runtime.remove_container(sleeper)
    assert await runtime.list_containers({TEST_LABEL: made.value}) == []


_ON_SIGTERM = """
import signal, sys, time
def on_sigterm(signum, frame):
    print("got SIGTERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, {handler})
print("ready", flush=True)
time.sleep(300)
"""


async def test_stop_sends_sigterm_first_and_kills_after_the_grace(
    runtime: DockerRuntime, made: Made, docker_client: docker.DockerClient
) -> None:
    async def started(handler: str) -> str:
        """A container running a program that handles SIGTERM with ``handler``, once
        the handler is in place."""
        program = _ON_SIGTERM.format(handler=handler)
        container_id = await start(runtime, made, spec(made, ["python3", "-c", program]))
        async with asyncio.timeout(60):
            while b"ready" not in docker_client.api.logs(container_id):
                await asyncio.sleep(0.1)
        return container_id

    # A grace far longer than the program needs: exit code 0, not 137, shows that
    # SIGTERM reached it (through the init) before any SIGKILL.
    graceful = await started("on_sigterm")
    await runtime.stop(graceful, grace_seconds=60)
    assert await runtime.wait(graceful, timeout=30) == 0
    assert b"got SIGTERM" in docker_client.api.logs(graceful)

    # A program that ignores SIGTERM is killed once the grace is over: 128 + SIGKILL.
    stubborn = await started("signal.SIG_IGN")
    await runtime.stop(stubborn, grace_seconds=1)
    assert await runtime.wait(stubborn, timeout=30) == 137


async def test_list_containers_by_label(
    runtime: DockerRuntime, made: Made, docker_client: docker.DockerClient
) -> None:
    done = await start(runtime, made, spec(made, ["sh", "-c", "exit 5"], labels={"role": "done"}))
    running = await start(runtime, made, spec(made, ["sleep", "30"], labels={"role": "busy"}))
    assert await runtime.wait(done, timeout=60) == 5

    found = {c.id: c for c in await runtime.list_containers({TEST_LABEL: made.value})}
    assert set(found) == {done, running}
    assert found[done].status == "exited"
    assert found[done].exit_code == 5
    assert found[done].labels == {TEST_LABEL: made.value, "role": "done"}
    assert found[running].status == "running"
    assert found[running].exit_code is None
    # When it ended: none yet for the running one (Docker says 0001-01-01 there).
    created, ended = found[done].created_at, found[done].finished_at
    assert created is not None and ended is not None and ended >= created
    assert found[running].finished_at is None
    # The image each was created from, by id (the spec named it by tag).
    base_id = docker_client.images.get(TEST_BASE_IMAGE).id
    assert found[done].image_id == found[running].image_id == base_id
    inspected = await runtime.inspect(running)
    assert inspected is not None and inspected.image_id == base_id

    both = await runtime.list_containers({TEST_LABEL: made.value, "role": "busy"})
    assert [c.id for c in both] == [running]

    # An empty value matches the label with any value (other tests' leftovers too).
    any_value = {c.id for c in await runtime.list_containers({TEST_LABEL: ""})}
    assert {done, running} <= any_value
    assert await runtime.list_containers({TEST_LABEL: f"{made.value}-other"}) == []
    await runtime.kill(running)


async def test_calls_do_not_block_the_event_loop(runtime: DockerRuntime, made: Made) -> None:
    container_id = await start(runtime, made, spec(made, ["sleep", "2"]))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        assert await runtime.wait(container_id, timeout=30) == 0
    finally:
        task.cancel()
    assert ticks >= 3


async def test_ping_and_unreachable_engine(runtime: DockerRuntime, tmp_path: Path) -> None:
    await runtime.ping()
    nowhere = DockerRuntime(base_url=f"unix://{tmp_path}/no-docker.sock")  # nothing connects yet
    with pytest.raises(docker.errors.DockerException):
        await nowhere.ping()
    await nowhere.close()
