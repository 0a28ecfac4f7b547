"""A real PostgreSQL server for the scale-out tests: started on a free loopback port in a temporary
directory, stopped afterwards. Skips (saying why) only where no server binaries exist; .ci/run installs them."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

# A small space shared by the runner and PostgreSQL tests: 8 ConvNets, three axes varied.
SPACE = """\
name: unit
axes:
  depth: [1, 2]
  width: [4, 8]
  norm: [instancenorm, none]
fixed:
  act: relu
  pool: avgpool
"""


@pytest.fixture
def space_file(tmp_path):
    path = tmp_path / "unit.yaml"
    path.write_text(SPACE)
    return str(path)


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.skip("psycopg2 is not installed: pip install -e '.[postgres]'")
    root = tempfile.mkdtemp(prefix="ftd-nas-pg-")
    data, sock, port = os.path.join(root, "data"), os.path.join(root, "sock"), _free_port()
    os.makedirs(sock)
    prefix = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run(prefix + list(cmd), check=True, capture_output=True, text=True)  # noqa: E731
    run(initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
    run(pg_ctl, "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")
    try:
        subprocess.run(prefix + [_pg_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port), "-U",
                                 "postgres", "ftd"], check=True, capture_output=True)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/ftd"
    finally:
        subprocess.run(prefix + [pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
