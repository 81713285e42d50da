"""Which secret values a job ran with, so that the logs the API serves mask them
(``scripter.domain.secrets``) and job views hide them."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

from scripter.domain.jobs import Job
from scripter.domain.ports import UnitOfWorkFactory
from scripter.domain.secrets import MASK, SecretMask

_CACHED_REVISIONS = 512


class JobSecrets:
    """The secrets of jobs, from their script revisions.

    A job's secrets are the values of the variables its revision marks secret, and
    the values the job's own environment overrides (a run request's or a schedule's)
    gave those same variables: overriding a secret variable keeps it secret.
    Revisions never change, so their secret variables are cached (by script and
    revision number), which spares a revision's load, files and all, per log read.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow
        self._revisions: OrderedDict[tuple[int, int], dict[str, str]] = OrderedDict()

    async def of_revision(self, script_id: int, number: int) -> dict[str, str]:
        """Name -> value of the revision's secret variables."""
        key = (script_id, number)
        cached = self._revisions.get(key)
        if cached is not None:
            self._revisions.move_to_end(key)
            return cached
        async with self._uow() as uow:
            revision = await uow.scripts.get_revision(script_id, number)
        found = {v.name: v.value for v in revision.revision_settings().env if v.secret}
        self._revisions[key] = found
        if len(self._revisions) > _CACHED_REVISIONS:
            self._revisions.popitem(last=False)
        return found

    async def mask(self, job: Job) -> SecretMask:
        """The mask for the job's log."""
        secrets = await self.of_revision(job.script_id, job.revision)
        overridden = [job.env[name] for name in secrets if name in job.env]
        return SecretMask([*secrets.values(), *overridden])

    async def shown(self, job: Job) -> Job:
        """The job as clients see it: the values its environment overrides give to
        secret variables read ``****``. A copy; ``job`` itself is left as it is."""
        if not job.env:
            return job
        secrets = await self.of_revision(job.script_id, job.revision)
        if not any(name in secrets for name in job.env):
            return job
        env = {name: MASK.decode() if name in secrets else v for name, v in job.env.items()}
        return dataclasses.replace(job, env=env, events=[])
