"""The project's one exception family.

Every problem a user can fix (a malformed file, a bad option, an environment that does not match the data)
raises an :class:`IQLError` whose message says *where* (file, field), *what was expected* and *what was found*.
The CLI prints the message without a traceback and exits with status 2.
"""

from __future__ import annotations

import errno


class IQLError(Exception):
    """Base class for errors the user can act on; the CLI shows only the message."""


class DataError(IQLError):
    """A dataset file or directory is missing, malformed or inconsistent."""

    def __init__(self, source: str, field: str | None, expected: str, found: str):
        self.source, self.field, self.expected, self.found = str(source), field, expected, found
        where = f"{shorten(self.source)}: {shorten(field)}" if field else shorten(self.source)
        super().__init__(f"{where}: expected {expected}, found {found}")


class ConfigError(IQLError):
    """An option or combination of options cannot work."""


class EnvironmentMismatchError(IQLError):
    """The evaluation environment does not fit the dataset (dimensions, spaces)."""


class DivergenceError(IQLError):
    """Training produced a non-finite loss; the message names the newest checkpoint on disk (or says there is none)."""


class RunError(IQLError):
    """A run directory cannot give what was asked of it (no checkpoint yet, no such member)."""


class RunStopped(IQLError):
    """A run stopped at a clean point on SIGTERM or SIGINT; the CLI exits with 128 + the signal's number."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


class ExportError(IQLError):
    """A policy cannot be exported (a missing optional extra, a network the exporter does not know)."""


MAX_QUOTED = 200


def shorten(text: str, limit: int = MAX_QUOTED) -> str:
    """``text`` as it is if it has at most ``limit`` characters, else its start and end around ``...``.

    A path or name quoted in a message keeps the message one readable line even when the user typed 10,000
    characters; both ends stay, since a path's end (the file) and its start (where it lives) are what tell it apart.
    """
    text = str(text)
    if len(text) <= limit:
        return text
    keep = (limit - 5) // 2
    return f"{text[:keep]} ... {text[-keep:]}"


def user_fault(exc: BaseException) -> str | None:
    """The one-line message for a non-:class:`IQLError` failure the user can fix, or ``None`` for a bug.

    The file system (permission, disk full, quota, a missing path), the machine's memory, the accelerator's memory
    and gymnasium (unknown ids, missing extras) fail with their own exception types deep inside the libraries; the
    CLI turns these into one line and exit status 2, and keeps the traceback for everything else.
    """
    if isinstance(exc, MemoryError):
        return ("out of memory (MemoryError): the data or the population does not fit in RAM; use fewer --seeds, "
                "a smaller dataset, or a machine with more memory")
    if isinstance(exc, OSError):
        where = ": ".join(shorten(f) for f in (exc.filename, exc.filename2) if f) or "a file operation"
        advice = _OS_ADVICE.get(exc.errno, "check the path and its permissions")
        return f"{where}: {exc.strerror or exc} ({type(exc).__name__}); {advice}"
    text = str(exc)
    if type(exc).__name__ in ("XlaRuntimeError", "JaxRuntimeError") and "RESOURCE_EXHAUSTED" in text:
        first = text.strip().splitlines()[0][:200] if text.strip() else "RESOURCE_EXHAUSTED"
        return (f"the accelerator ran out of memory ({first}); use fewer --seeds, a smaller --agent.batch-size or "
                "smaller networks, or run on the CPU with JAX_PLATFORMS=cpu")
    if type(exc).__module__.split(".")[0] == "gymnasium":
        return (f"gymnasium: {type(exc).__name__}: {text.splitlines()[0] if text else ''}; check --env-id and "
                "that the environment's extras are installed")
    return None


_OS_ADVICE = {
    errno.ENOSPC: "no space left on the device: free some space or choose another --out",
    errno.EDQUOT: "disk quota exceeded: free some space or choose another --out",
    errno.EACCES: "permission denied: choose a directory you can write (--out) or fix its permissions",
    errno.EPERM: "operation not permitted: choose a directory you can write (--out) or fix its permissions",
    errno.EROFS: "read-only file system: choose another --out",
    errno.ENOENT: "no such file or directory: check the path",
    errno.ELOOP: "a loop of symbolic links: point the link at a real file",
    errno.ENAMETOOLONG: "a name longer than the file system allows: use a shorter name",
}
