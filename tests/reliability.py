"""docs/reliability.md from a figures file (``make reliability`` runs the suites, then
``python -m tests.reliability FIGURES > docs/reliability.md``).

The page: what each fault is and how it is injected, the machine and the date of
the run, then the tables of tests/figures.py.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.figures import read, render

HEADER = """\
# Reliability figures

Produced by `make reliability`, which runs the fault suite (`tests/fault`, marker
`fault`) and the hostile-input suite (marker `hostile`) against the real services,
with `SCRIPTER_FIGURES` naming a file that each test appends its figures to, then
renders this page from it (`python -m tests.reliability FILE`). Both suites also run
in the ordinary `pytest` (`make test`); only this target writes the page. Each
figure is counted from what happened, not assumed: jobs by their records in the
database or the API, starts from the workers' own log lines ("job N started in
container ..."), log bytes by comparing each job's log with what its script printed
(every script prints a known text).

## The faults, and how each is injected

The MariaDB server, the RabbitMQ broker and the Docker engine of this machine are
shared with other test runs and CI, so no test ever stops them. A fault that needs
a service to stop is injected into a **private instance** that the test starts for
itself and really stops and starts again (tests/fault/private.py): its own data
folder, port, socket and process group, removed afterwards even when the test
fails. That was chosen over a TCP proxy that cuts connections because each private
instance is cheap here (a `mariadbd` starts in well under a second, a RabbitMQ node
in about 5 s, a `dockerd` in about a second plus 8 s to copy the 240 MB test image
in), and a real restart is what users meet: the server's own shutdown, connections
refused while it is down, recovery of durable queues and of containers by the real
engine. Everything else is real too: `scripter migrate`, `api` and `worker` run as
separate processes (tests/e2e/multiprocess.py), jobs run in containers.

Each fault, how it is injected, and what must hold (the test fails otherwise):

- **RabbitMQ stopped while runs are requested** (tests/fault/test_broker_outage.py).
  A private RabbitMQ node (own node name, ports, Mnesia folder) is stopped with
  SIGTERM; eight runs are requested and a running job ends meanwhile; the node
  starts again on the same Mnesia folder. Every request answers 202 and its event
  waits in the outbox table; the job that ended is recorded during the outage; once
  the broker is back each requested job runs, once, with its whole log.
- **MariaDB restarted while jobs run** (test_database_restart.py). A private
  `mariadbd` (own data directory, port, socket) is stopped with SIGTERM while four
  jobs run; two end during the outage, and the worker fails to record them and
  tries again; the server starts again. Every job is recorded with its true status,
  exit code and whole log; the api answers again.
- **Worker `kill -9` mid-job, a container removed meanwhile** (test_engine_faults.py;
  tests/e2e/test_scale_out_jobs.py covers the kill of one of two workers under
  load). SIGKILL of the worker while three jobs run; one ends meanwhile, one
  container is removed by hand; a new worker starts. The two whose containers remain
  get their true status and exit code, the removed one is `lost` with the reason;
  no job is started twice.
- **Docker engine restarted mid-job** (test_engine_faults.py). A private `dockerd`
  (own data root, exec root, socket; the flags of .ci/ensure-docker.sh) is stopped
  with SIGTERM while a job runs, which ends that job's container with SIGTERM (no
  live-restore, Docker's default); a run is requested while it is down; it starts
  again. The running job is recorded `failed`, exit code 143, "killed by SIGTERM",
  as soon as the engine answers; the run requested meanwhile starts once the engine
  is back, once; nothing stays `running` and no container is left. Then the same
  engine runs with `--live-restore` and restarts under a running job: the job runs
  through the restart and is recorded `succeeded` with its whole log.
- **Data directory's disk full while a job writes its log** (test_full_disk.py).
  The data directory is a 24 MB tmpfs; a ballast file leaves 2 MB free; a job
  prints until its writes fail (ENOSPC); later the ballast is removed. The job is
  `failed` with an error that says the disk is full; its log is exactly the start
  of what it printed; healthz, reads and the job list keep working; a write answers
  507 and saves nothing; once space is freed, writes and jobs work again.
- **SIGTERM mid-download and mid-job** (test_graceful_shutdown.py). SIGTERM to the
  api while a slow client downloads a 32 MB job log (it pauses 8 s before reading
  the rest), and to the worker while a job runs. The api refuses new connections but
  finishes the download byte for byte, then exits 0; the worker exits 0; the next
  worker records the job with its true end, without starting it again.

Columns: `injected` faults injected, `survived` 1 when every expectation of the
test held, `jobs_lost` jobs that did not end as they truly did (or never ran),
`jobs_duplicated` extra starts of a job, `log_bytes_lost` bytes of what the jobs
printed that their logs (or a download of one) do not hold. For the hostile-input
suite: inputs tried, answers with a 5xx status, and escapes (a file written outside
its `src/` folder, or anything else the input should not reach).
"""


def _version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except OSError:
        return "not installed"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def _package(name: str) -> str:
    return _version(["dpkg-query", "-W", "-f=${Version}", name])


def machine() -> str:
    cpu = "?"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        kib = int(info.readline().split()[1])
    docker = _version(["docker", "version", "--format", "{{.Server.Version}}"])
    return "\n".join(
        [
            f"- {platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
            f"{kib / 1024 / 1024:.0f} GiB",
            f"- Python {platform.python_version()}; Docker engine {docker}; "
            f"MariaDB {_package('mariadb-server')}; RabbitMQ {_package('rabbitmq-server')}",
        ]
    )


def page(figures: Path) -> str:
    rows = read(figures) if figures.exists() else []
    rows.sort(key=lambda row: row["suite"] != "fault")  # faults first, as above; stable
    tables = render(rows) if rows else "(no figures were recorded)\n"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{HEADER}\n## The run\n\n{when}, on\n\n{machine()}\n\n## Figures\n\n{tables}"


if __name__ == "__main__":
    sys.stdout.write(page(Path(sys.argv[1])))
