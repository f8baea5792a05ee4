"""Crash points for the crash tests: `BAOCAO_FAILPOINT=name:N` kills the process
(SIGKILL, no clean-up) the Nth time `failpoint(name)` is reached. Unset, it costs one
dictionary lookup; it is how the tests prove that a crash at any step loses nothing.
"""
from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("BAOCAO_FAILPOINT", "")
_NAME, _, _COUNT = _SPEC.partition(":")
_remaining = {_NAME: int(_COUNT or 1)} if _NAME else {}


def failpoint(name: str) -> None:
    if name in _remaining:
        _remaining[name] -= 1
        if _remaining[name] <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
