"""SQL implementations of the repository ports, one module per aggregate."""

from scripter.adapters.db.repositories._base import Track
from scripter.adapters.db.repositories.images import SqlImageRepository
from scripter.adapters.db.repositories.jobs import SqlJobRepository
from scripter.adapters.db.repositories.schedules import SqlScheduleRepository
from scripter.adapters.db.repositories.scripts import SqlScriptRepository

__all__ = [
    "SqlImageRepository",
    "SqlJobRepository",
    "SqlScheduleRepository",
    "SqlScriptRepository",
    "Track",
]
