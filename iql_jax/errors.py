"""The project's one exception family.

Every problem a user can fix (a malformed file, a bad option, an environment that does not match the data)
raises an :class:`IQLError` whose message says *where* (file, field), *what was expected* and *what was found*.
The CLI prints the message without a traceback and exits with status 2.
"""

from __future__ import annotations


class IQLError(Exception):
    """Base class for errors the user can act on; the CLI shows only the message."""


class DataError(IQLError):
    """A dataset file or directory is missing, malformed or inconsistent."""

    def __init__(self, source: str, field: str | None, expected: str, found: str):
        self.source, self.field, self.expected, self.found = str(source), field, expected, found
        where = f"{self.source}: {field}" if field else self.source
        super().__init__(f"{where}: expected {expected}, found {found}")


class ConfigError(IQLError):
    """An option or combination of options cannot work."""


class EnvironmentMismatchError(IQLError):
    """The evaluation environment does not fit the dataset (dimensions, spaces)."""


class DivergenceError(IQLError):
    """Training produced a non-finite loss; the last good checkpoint is kept."""


class RunError(IQLError):
    """A run directory cannot give what was asked of it (no checkpoint yet, no such member)."""


class ExportError(IQLError):
    """A policy cannot be exported (a missing optional extra, a network the exporter does not know)."""
