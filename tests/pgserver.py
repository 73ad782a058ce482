"""A throwaway PostgreSQL server for the ``postgres`` tests and the scale-out benchmark.

``start()`` runs ``initdb`` in a fresh temporary folder and ``pg_ctl start`` on a free port of
127.0.0.1 (unix socket in the data folder, trust authentication, no fsync), then creates the
database ``optuna``; ``PgServer.stop()`` runs ``pg_ctl stop -m fast`` and deletes the folder.

PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` user (created
by the Debian package) or else ``nobody``, which owns the data folder. The binaries are found
on PATH (``initdb``) or in ``/usr/lib/postgresql/<version>/bin`` (Debian's layout, not on
PATH); ``$PG_BINDIR`` overrides both.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DATABASE = "optuna"


def find_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``; ``None`` when there is none."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)  # /usr/local/bin/initdb is a link
        candidates.append(Path(initdb).parent)

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in p.parent.name.split(".") if x.isdigit())

    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    candidates += [*debian, Path("/usr/local/pgsql/bin")]
    for d in candidates:
        if all((d / b).is_file() and os.access(d / b, os.X_OK) for b in ("initdb", "pg_ctl")):
            return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged account the server runs as when we are root (``None``: ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


@dataclass
class PgServer:
    bindir: Path
    datadir: Path
    port: int
    user: pwd.struct_passwd | None

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the database ``optuna`` (superuser ``postgres``, trust)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.datadir,  # readable by the server's user (not root's home)
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            **kwargs,
        )

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.datadir / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.datadir, ignore_errors=True)


def _check(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def start(bindir: Path | None = None, attempts: int = 3) -> PgServer:
    """Start a throwaway server (see the module's docstring)."""
    bindir = bindir or find_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl) found")
    user = _server_user()
    top = Path(tempfile.mkdtemp(prefix="chemchallenge-pg-"))
    if user is not None:
        os.chown(top, user.pw_uid, user.pw_gid)
    server = PgServer(bindir, top, 0, user)
    data = top / "data"
    try:
        _check(
            server.run(
                "initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--locale=C", "--no-sync",
            ),
            "initdb",
        )  # fmt: skip
        for _ in range(attempts):  # another process may take the free port in between
            server.port = _free_port()
            opts = (
                f"-h 127.0.0.1 -p {server.port} -k {top} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
            )
            proc = server.run(
                "pg_ctl", "-D", str(data), "-l", str(top / "server.log"), "-w", "-t", "60",
                "-o", opts, "start",
            )  # fmt: skip
            if proc.returncode == 0:
                break
            time.sleep(0.5)
        else:
            log = (top / "server.log").read_text() if (top / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed:\n{proc.stdout}\n{proc.stderr}\n{log}")
        _create_database(server)
    except BaseException:
        server.stop()
        raise
    return server


def _create_database(server: PgServer) -> None:
    import psycopg  # the driver SQLAlchemy uses for postgresql:// (extra `postgres`)

    conn = psycopg.connect(
        host="127.0.0.1", port=server.port, user="postgres", dbname="postgres", autocommit=True
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        conn.close()
