"""A local PostgreSQL cluster run from the machine's server binaries.

Used by `make run` (a cluster kept under `.local/`) and by the tests (a throwaway cluster
under /tmp). `initdb` and `pg_ctl` refuse to run as root, so as root every server command
runs as the unprivileged `postgres` OS user, in directories that user owns.

As on Supabase, the cluster's superuser is `supabase_admin` (it applies the platform
stand-in once); the project's migrations, seed and callers use `postgres`, which the
stand-in makes a non-superuser with Supabase's attributes.
"""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from python_functions.local import interrupts

SERVER_USER = "postgres"  # the OS user that runs the server when we are root
SUPERUSER = "supabase_admin"
APP_USER = "postgres"
# local development clusters on loopback only; `supabase start` uses the same password
PASSWORD = "postgres"  # noqa: S105


class ClusterError(RuntimeError):
    pass


def find_bin_dir() -> Path:
    """The directory holding initdb/pg_ctl: PATH first, then Debian's versioned dirs."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise ClusterError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's "
            "`postgresql` (make run/test do this when run as root) or set DATABASE_URL."
        )
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_root() -> bool:
    return os.geteuid() == 0


def _ensure_server_user() -> None:
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             SERVER_USER],
            check=True,
        )


def _chown_to_server_user(path: Path) -> None:
    if _as_root():
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


_SETTINGS_MARK = "# added by python_functions.local.cluster"


@dataclass
class LocalCluster:
    root: Path  # holds data/, the socket and the log; must be enterable by the server user
    port: int
    durable: bool = True  # False for throwaway test clusters: fsync off, faster
    # pg_stat_statements loaded, as on Supabase (`supabase inspect db outliers`, `calls`);
    # off for the benchmark's server, whose earlier runs were timed without its hooks
    track_statements: bool = True

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def dsn(self) -> str:
        """The project's connection: `postgres`, not a superuser (as on Supabase)."""
        return f"postgresql://{APP_USER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    @property
    def admin_dsn(self) -> str:
        """The bootstrap superuser, for the platform stand-in only."""
        return f"postgresql://{SUPERUSER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str], check: bool = True, pass_fds: tuple[int, ...] = ()
             ) -> subprocess.CompletedProcess[str]:
        command = [str(find_bin_dir() / args[0]), *args[1:]]
        if _as_root():
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        with interrupts.popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd="/", pass_fds=pass_fds) as process:
            try:
                stdout, stderr = process.communicate()
            except BaseException:
                # Ctrl-C or SIGTERM: the tool ends itself, where a kill would orphan it
                interrupts.end(process)
                raise
        result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        if check and result.returncode != 0:
            raise ClusterError(
                f"{args[0]} failed ({result.returncode}): {result.stderr.strip() or result.stdout}"
            )
        return result

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """initdb and this project's settings, in a directory of their own that becomes
        `data/` only when both are done: an init cut short (Ctrl-C, a full disk) leaves no
        half-made cluster for the next run to take as one. initdb holds the directory's
        init lock too: a run killed outright (SIGKILL, not passed on) leaves it running on
        its own, and the next init waits for it to end instead of racing it there."""
        if _as_root():
            _ensure_server_user()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        _chown_to_server_user(self.root)
        partial = self.root / "data.partial"
        with self._init_lock() as lock:
            shutil.rmtree(partial, ignore_errors=True)
            pwfile = self.root / ".pwfile"
            pwfile.write_text(PASSWORD + "\n")
            _chown_to_server_user(pwfile)
            try:
                self._run([
                    "initdb", "-D", str(partial), "-U", SUPERUSER, "--pwfile", str(pwfile),
                    "--auth-local=trust", "--auth-host=scram-sha-256",
                    "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions",
                ], pass_fds=(lock,))
            finally:
                pwfile.unlink(missing_ok=True)
            self._add_settings(partial)
            partial.rename(self.data_dir)

    @contextmanager
    def _init_lock(self) -> Iterator[int]:
        """An exclusive `flock` on the root's `.init.lock`, held until every process that
        inherited its descriptor has ended."""
        fd = os.open(self.root / ".init.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)

    def _add_settings(self, data_dir: Path) -> None:
        """This project's settings, appended to the cluster's postgresql.conf."""
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": "200",
            "shared_buffers": "256MB",
            "log_min_messages": "warning",
            "log_statement": "'none'",
            # a bounded log: rotated, a week of files at most; and a client's routine 4xx
            # (raise sqlstate 'PGRST') is one short line, not the line plus its statement
            "logging_collector": "on",
            "log_directory": "'log'",
            "log_filename": "'postgresql-%a.log'",
            "log_rotation_size": "'10MB'",
            "log_truncate_on_rotation": "on",
            "log_min_error_statement": "fatal",
            # Supabase's databases run in UTC; initdb would take this machine's zone, and a
            # laptop's would change every timestamp the API returns and `current_date`
            "timezone": "'UTC'",
            "log_timezone": "'UTC'",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\n{_SETTINGS_MARK}\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def running(self) -> bool:
        if not self.initialized():
            return False
        status = self._run(["pg_ctl", "-D", str(self.data_dir), "status"], check=False)
        return status.returncode == 0

    def start(self) -> None:
        """Start the server. A data directory without this project's settings (one whose
        init an earlier version had cut short, in a run killed after initdb) gets them
        first, or it would run in the machine's zone."""
        conf = self.data_dir / "postgresql.conf"
        if conf.exists() and _SETTINGS_MARK not in conf.read_text(errors="replace"):
            self._add_settings(self.data_dir)
        try:
            self._run([
                "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                "-o", f"-p {self.port}" + (" -c shared_preload_libraries=pg_stat_statements"
                                           if self.track_statements else ""), "start",
            ])
        except ClusterError as exc:  # say why (port taken, ...) instead of "see the log"
            raise ClusterError("\n".join([str(exc), *self.log_tail()])) from None

    def log_tail(self, lines: int = 5) -> list[str]:
        """The server's last words: its collector's newest file, else pg_ctl's log."""
        logs = sorted((self.data_dir / "log").glob("*.log"), key=lambda p: p.stat().st_mtime)
        source = logs[-1] if logs else self.log_file
        return source.read_text(errors="replace").splitlines()[-lines:] if source.exists() else []

    def stop(self) -> None:
        if not self.running():
            return
        stopping = self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
                             check=False)
        # a Ctrl-C reaches the server too (it shares the terminal's process group), and
        # it may be gone before pg_ctl looks: that is stopped as well
        if stopping.returncode != 0 and self.running():
            raise ClusterError(f"pg_ctl failed ({stopping.returncode}): "
                               f"{stopping.stderr.strip() or stopping.stdout}")

    def destroy(self) -> None:
        self.stop()
        if self.root.exists():
            with self._init_lock():  # not from under an initdb a killed run left behind
                shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_cluster(durable: bool = False, track_statements: bool = True
                      ) -> Iterator[LocalCluster]:
    """A started cluster in a fresh directory under /tmp, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="pf-pg-", dir="/tmp"))
    root.chmod(0o755)  # mkdtemp makes it 0700; the server user must be able to enter it
    cluster = LocalCluster(root / "pg", free_port(), durable=durable,
                           track_statements=track_statements)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
