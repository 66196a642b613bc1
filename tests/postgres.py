"""A real PostgreSQL server on 127.0.0.1 for the DuckLake tests: Debian's package (`postgresql`,
installed by .ci/run), a throw-away cluster in a temporary folder, run as an unprivileged user
(PostgreSQL refuses to run as root; as root the tests run it as Debian's `postgres` user).

    with Postgres() as pg:
        pg.create_database("lake")
        pg.conninfo("lake")  # 'dbname=lake host=127.0.0.1 port=... user=tradewh'

Without the server binaries the tests that need it are skipped, or fail when
TRADEWH_REQUIRE_POSTGRES is set (CI sets it: the DuckLake tests must run there).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

SUPERUSER = "tradewh"


def server_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin folder (Debian: /usr/lib/postgresql/<v>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def require_server() -> Path:
    """server_bin(), else skip the test (fail it when TRADEWH_REQUIRE_POSTGRES is set)."""
    found = server_bin()
    if found is None:
        why = "PostgreSQL's server is not installed (Debian: apt-get install postgresql; .ci/run does)"
        if os.environ.get("TRADEWH_REQUIRE_POSTGRES"):
            pytest.fail(why)
        pytest.skip(why)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A PostgreSQL cluster started on entry (initdb, pg_ctl start on 127.0.0.1 and a private
    socket folder, trust authentication for the local superuser `tradewh`) and removed on exit."""

    def __init__(self) -> None:
        self.bin = require_server()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tradewh-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.run_as: list[str] = []

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.run_as, *args], check=check, capture_output=True, text=True)

    def __enter__(self) -> Postgres:
        self.data.mkdir()
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")  # created by Debian's package
            os.chmod(self.root, 0o755)
            for path in (self.root, self.data):
                os.chown(path, user.pw_uid, user.pw_gid)
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        started = self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start",
            check=False,
        )  # fmt: skip
        if started.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}{log}")
        return self

    def create_database(self, name: str) -> str:
        """A new empty database; returns its conninfo."""
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name)
        return self.conninfo(name)

    def conninfo(self, database: str) -> str:
        return f"dbname={database} host=127.0.0.1 port={self.port} user={SUPERUSER}"

    def __exit__(self, *exc) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
