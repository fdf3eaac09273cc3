"""A stop signal (Ctrl-C, SIGTERM, `make stop`) that cuts a starting `make run` short, kept
out of the start of a child process: raised inside `subprocess.Popen` after its fork, it
would leave the process running with no handle to stop it. Signal handlers run in the
main thread, between its steps, so one state for the process is all there is to keep."""

from __future__ import annotations

import subprocess
from typing import Any


class Interrupted(KeyboardInterrupt):
    """A stop signal while `make run` is starting. A subclass, because once a plain
    KeyboardInterrupt has passed through an `eval` of a string anywhere in the call stack,
    even one caught later, CPython 3.11 (`python -m`) ends the process by SIGINT instead of
    with its exit status."""


class _Gate:
    starting_a_process = False
    pending = False  # a stop signal came meanwhile


_gate = _Gate()


def interrupt() -> None:
    """For a signal handler: raise `Interrupted` now, or, while `popen` starts a process,
    once it has the process's handle."""
    if _gate.starting_a_process:
        _gate.pending = True
    else:
        raise Interrupted


def popen(args: list[str], **options: Any) -> subprocess.Popen[Any]:
    """`subprocess.Popen`, or, when a stop signal came while it started the process,
    `Interrupted` with that process ended (`end`)."""
    _gate.starting_a_process = True
    try:
        process = subprocess.Popen(args, **options)
    finally:
        # read and released with no call in between (`dis`, CPython 3.11): a signal
        # handler runs only at a call or a jump back, so none runs there
        pending, _gate.pending, _gate.starting_a_process = _gate.pending, False, False
    if pending:
        end(process)
        raise Interrupted
    return process


def end(process: subprocess.Popen[Any], grace_s: float = 30) -> None:
    """SIGTERM, and SIGKILL if it has not ended after `grace_s`: the tools this runs end
    themselves cleanly on SIGTERM (initdb removes what it made, runuser passes it on)."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
