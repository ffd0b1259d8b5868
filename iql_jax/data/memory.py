"""How many bytes this process may still allocate: the least of every limit that applies to it.

Physical memory is not what a process may use. A shell's ``ulimit -v`` (``RLIMIT_AS``) or ``ulimit -d``
(``RLIMIT_DATA``) caps the address space or the data segment; a container or a systemd slice caps the cgroup
(``memory.max`` in cgroup v2, ``memory.limit_in_bytes`` in v1), and the kernel kills the process when the group goes
over. A loader that checks a file's declared size against physical memory alone is OOM-killed, or meets a
``MemoryError`` deep inside h5py, instead of refusing the file in one line. :func:`memory_limit` gives the binding
limit with its name and the advice that fits it, so a message can say which limit to raise.

Each limit is the *headroom* left under it: the rlimit minus the process's current size (``/proc/self/status``),
the cgroup limit minus the group's current usage (reclaimable page cache excluded), physical memory as a whole.
``$IQL_JAX_MAX_LOAD_BYTES`` can lower the result (tests and shared machines), never raise it.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

MAX_LOAD_BYTES_ENV = "IQL_JAX_MAX_LOAD_BYTES"
_UNLIMITED_V1 = 1 << 62  # cgroup v1 writes "no limit" as 9223372036854771712 (a page-rounded 2**63 - 1)


@dataclass(frozen=True)
class MemoryLimit:
    """One limit on what the process may allocate: the bytes left under it, its name and what raises it."""

    bytes: int
    name: str
    advice: str


def memory_limit(proc: str | Path = "/proc", cgroup_root: str | Path = "/sys/fs/cgroup") -> MemoryLimit:
    """The binding limit (fewest bytes left) of :func:`memory_limits`."""
    return min(memory_limits(proc, cgroup_root), key=lambda limit: limit.bytes)


def memory_limits(proc: str | Path = "/proc", cgroup_root: str | Path = "/sys/fs/cgroup") -> list[MemoryLimit]:
    """Every limit that applies to this process, physical memory always among them.

    ``proc`` and ``cgroup_root`` are where ``/proc`` and the cgroup file system are mounted (tests point them at a
    directory that imitates a container).
    """
    proc, cgroup_root = Path(proc), Path(cgroup_root)
    status = _proc_status(proc / "self" / "status")
    limits = [MemoryLimit(_physical_bytes(), "physical memory",
                          "use a smaller dataset or a machine with more memory")]
    for rlimit, name, used, advice in (
            (resource.RLIMIT_AS, "RLIMIT_AS (ulimit -v)", status.get("VmSize", 0), "raise `ulimit -v`"),
            (resource.RLIMIT_DATA, "RLIMIT_DATA (ulimit -d)", status.get("VmData", 0), "raise `ulimit -d`")):
        soft, _ = resource.getrlimit(rlimit)
        if soft != resource.RLIM_INFINITY:
            limits.append(MemoryLimit(max(soft - used, 0), f"{name} = {soft:,} bytes, {used:,} in use", advice))
    limits += _cgroup_limits(proc / "self" / "cgroup", cgroup_root)
    override = os.environ.get(MAX_LOAD_BYTES_ENV, "").strip()
    if override.isdigit():
        limits.append(MemoryLimit(int(override), f"${MAX_LOAD_BYTES_ENV}", f"raise ${MAX_LOAD_BYTES_ENV}"))
    return limits


def describe(limit: MemoryLimit) -> str:
    """``"at most 1,073,741,824 bytes: RLIMIT_AS (ulimit -v) = ...; raise `ulimit -v`"`` for a message."""
    return f"at most {limit.bytes:,} bytes more: {limit.name}; {limit.advice}"


def _physical_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):  # no sysconf: a limit no real dataset reaches, far below 10^12 rows
        return 1 << 40


def _proc_status(path: Path) -> dict[str, int]:
    """``VmSize``/``VmData`` ... of ``/proc/self/status`` in bytes (empty where there is no /proc)."""
    out = {}
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
                out[key] = int(parts[0]) * 1024
    except OSError:
        pass
    return out


def _cgroup_limits(membership: Path, root: Path) -> list[MemoryLimit]:
    """The memory limit of this process's cgroup and of each ancestor (the least binds), v2 or v1."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, group = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "" and (root / "cgroup.controllers").exists():  # v2: "0::/path"
            found += _walk(root, group, "memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):  # v1: "4:memory:/path"
            found += _walk(root / "memory", group, "memory.limit_in_bytes", "memory.usage_in_bytes",
                           "total_inactive_file")
    return found


def _walk(mount: Path, group: str, limit_file: str, usage_file: str, inactive_key: str) -> list[MemoryLimit]:
    """Limits from the group up to the mount point. Inside a cgroup namespace ``/proc/self/cgroup`` says ``/`` and
    the mount is the group itself, so the mount point is read too."""
    parts = [p for p in group.split("/") if p]
    out = []
    for depth in range(len(parts), -1, -1):
        directory = mount.joinpath(*parts[:depth])
        limit = _read_int(directory / limit_file)
        if limit is None or limit >= _UNLIMITED_V1:
            continue
        usage = _read_int(directory / usage_file) or 0
        usage -= _stat_value(directory / "memory.stat", inactive_key)  # page cache the kernel can reclaim
        out.append(MemoryLimit(max(limit - max(usage, 0), 0),
                               f"the cgroup memory limit {directory / limit_file} = {limit:,} bytes",
                               "raise the container's or the job's memory limit"))
    return out


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (v2, no limit) -> None


def _stat_value(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                return int(value)
    except OSError:
        pass
    return 0
