"""The services `make run` starts end with it, however it ends. A run stopped by a signal it
can handle stops them itself; one killed outright (SIGKILL, the OOM killer) cannot, and
its services would go on holding their ports, so the next run could not start. So each
service gets the read end of a pipe whose only write end the run holds: the kernel closes
that end when the run ends, the read sees end-of-file, and the service stops itself as
SIGTERM stops it (gracefully: requests under way are answered)."""

from __future__ import annotations

import os
import signal
import threading

ENV = "MAKE_RUN_LIFELINE_FD"


class Lifeline:
    """The run's side: a pipe whose write end it keeps (not inherited by any child)."""

    def __init__(self) -> None:
        self.read_fd, self._write_fd = os.pipe()

    def env(self) -> dict[str, str]:
        """What a service's environment needs; start it with `pass_fds=(read_fd,)`."""
        return {ENV: str(self.read_fd)}

    def close(self) -> None:
        os.close(self.read_fd)
        os.close(self._write_fd)


def watch() -> None:
    """In a service: when started by `make run`, SIGTERM this process once the run is gone.
    The variable is removed, so worker processes (which do not get the descriptor) do not
    look for it."""
    value = os.environ.pop(ENV, None)
    if value is None:
        return
    fd = int(value)

    def wait_for_the_run() -> None:
        while os.read(fd, 1):  # nothing is written: only the end of the file comes
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait_for_the_run, name="make-run-lifeline", daemon=True).start()
