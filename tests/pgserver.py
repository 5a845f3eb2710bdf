"""A real, throwaway PostgreSQL server for the tests and benchmarks.

Debian's initdb/pg_ctl (found on PATH or in /usr/lib/postgresql/*/bin) run as a non-root user
(PostgreSQL refuses root: we use `postgres`, or create `lbpg`), with a temporary data dir,
a free port on 127.0.0.1, unix sockets in the temp dir and scram passwords. `stop()` (or the
session fixture) shuts it down and removes the directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

USER, PASSWORD = "lb", "s3cret-pw"


def pg_bin() -> Path | None:
    """The directory holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(f"{d}/initdb"):
            return Path(d)
    return None


def _free_port() -> int:
    from tests.proc import free_port  # outside the ephemeral range, apart per xdist worker

    return free_port()


def _os_user() -> str | None:
    """The non-root account to run the server as (None: we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "lbpg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    subprocess.run(["useradd", "--system", "--no-create-home", "lbpg"], check=True)
    return "lbpg"


class PgServer:
    """initdb + pg_ctl start; `url()` for a database, `new_database()` for an empty one."""

    def __init__(self) -> None:
        bindir = pg_bin()
        if bindir is None:
            raise FileNotFoundError("initdb/pg_ctl not found (install postgresql, see .ci/install-postgres)")
        self.bin = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="lb-pg-"))
        self.data, self.port = self.dir / "data", _free_port()
        self.user = _os_user()
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(self.dir, info.pw_uid, info.pw_gid)
            os.chown(pwfile, info.pw_uid, info.pw_gid)
        self._as_user([str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile),
                       "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"])
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._as_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"),
                       "-w", "-t", "60", "start"])

    def _as_user(self, cmd: list[str]) -> None:
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            log = (self.dir / "log").read_text() if (self.dir / "log").exists() else ""
            raise RuntimeError(f"{cmd[-1]} failed: {r.stderr.strip()} {log[-2000:]}")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._as_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
