"""This process's memory as Linux reports it, for the measuring subprocesses of the memory tests.

``VmHWM`` is the peak resident set of this process alone (``ru_maxrss`` of a child would include
what it inherited from the forking parent); :func:`reset_peak` restarts the high-water mark, so a
higher peak earlier (imports, a warm-up) cannot hide the one being measured.
"""

from __future__ import annotations


def status_kb(field: str) -> int:
    """A ``/proc/self/status`` field in kB (``VmRSS``, ``VmHWM``)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


def peak_mb() -> int:
    """This process's peak resident memory in MB since start or the last :func:`reset_peak`."""
    return status_kb("VmHWM") // 1024


def reset_peak() -> None:
    """Restart the peak (Linux ``clear_refs`` 5)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
