"""Crash and pause points for the crash tests, set by `BAOCAO_FAILPOINT` (unset, a call costs
one dictionary lookup): they prove that a crash or a stall at any step loses and doubles nothing.

    BAOCAO_FAILPOINT=name:N               SIGKILL the process (no clean-up) the Nth time
                                          `failpoint(name)` is reached
    BAOCAO_FAILPOINT=name:N:pause=SECONDS stop the whole process (SIGSTOP: every thread, as a
                                          suspended VM or a long GC pause would) for SECONDS
                                          the Nth time, then carry on
    BAOCAO_FAILPOINT=name:N:stop          stop it the Nth time until someone (the test) sends
                                          it SIGCONT

Several specs may be given, separated by commas.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading

log = logging.getLogger(__name__)


KILL, STOP = "kill", "stop"


def _parse(spec: str) -> dict[str, tuple[int, str, float]]:
    """name -> (N, action, pause seconds)."""
    points: dict[str, tuple[int, str, float]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, rest = part.partition(":")
        count, _, action = rest.partition(":")
        if action.startswith("pause="):
            points[name] = (int(count or 1), STOP, float(action.removeprefix("pause=")))
        elif action in ("", STOP):
            points[name] = (int(count or 1), action or KILL, 0.0)
        else:
            raise ValueError(f"BAOCAO_FAILPOINT: unknown action {action!r} in {part!r}")
    return points


_POINTS = _parse(os.environ.get("BAOCAO_FAILPOINT", ""))
_remaining = {name: count for name, (count, _, _) in _POINTS.items()}


def failpoint(name: str) -> None:
    if name not in _remaining:
        return
    _remaining[name] -= 1
    if _remaining[name] != 0:
        return
    _, action, pause = _POINTS[name]
    if action == KILL:
        os.kill(os.getpid(), signal.SIGKILL)
        return
    if pause:
        log.warning("failpoint %s: stopping the whole process for %g s", name, pause)
        # A process cannot continue itself: a helper in its own session sends SIGCONT later
        # (and is not one of the process group's children a crash test looks for).
        subprocess.Popen(
            ["/bin/sh", "-c", f"sleep {pause}; kill -CONT {os.getpid()}"],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    else:
        log.warning("failpoint %s: stopping the whole process until it gets SIGCONT", name)
    # At this thread, not the process: a process-directed SIGSTOP may be taken by another
    # thread, and this one then runs on for a few milliseconds (enough to send the digest).
    signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)
    log.warning("failpoint %s: running again", name)
