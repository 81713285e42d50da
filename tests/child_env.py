"""The environment of a child ``python -m scripter`` process (tests and benchmarks).

The test suite's own knobs share the ``SCRIPTER_`` prefix with the configuration's
variables (``SCRIPTER_TEST_BASE_IMAGE``, ``SCRIPTER_TEST_MARIADB_URL``,
``SCRIPTER_TEST_RABBITMQ_URL``, ``SCRIPTER_FIGURES``, ``SCRIPTER_HOSTILE_EXAMPLES``,
``SCRIPTER_UI_SCREENSHOTS``), and Scripter refuses to start on a ``SCRIPTER_*``
variable it does not read (a typo must not pass silently). So a child never inherits
those; whether it inherits the developer's real settings is the caller's choice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from scripter.config import ENV_PREFIX, is_setting_variable

REPO_ROOT = Path(__file__).resolve().parents[1]


def scripter_child_env(
    settings: Mapping[str, str] | None = None,
    *,
    inherit_settings: bool = False,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``base`` (this process's environment) without any ``SCRIPTER_*`` variable the
    configuration does not read, and without the ones it does unless
    ``inherit_settings``; this checkout first on the import path; then ``settings``."""
    base = os.environ if base is None else base
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith(ENV_PREFIX) or (inherit_settings and is_setting_variable(name))
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(settings or {})
    return env
