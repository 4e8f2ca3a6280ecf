"""A real relay for the tests: the ``fxe-server`` binary on a free loopback
port with a fresh data directory, and orgs redeemed with the real
``fxe-client`` (so every test also checks that the SDK reads the CLI's
keys.zip and shares its pin store)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

import fxe

ROOT = Path(__file__).resolve().parents[2]
SERVER_BIN = Path(os.environ.get("FXE_SERVER_BIN", ROOT / "target" / "debug" / "fxe-server")).resolve()
CLIENT_BIN = Path(os.environ.get("FXE_CLIENT_BIN", ROOT / "target" / "debug" / "fxe-client")).resolve()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FXE_", "LEPTOS_"))}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)



class Relay:
    def __init__(self, tmp: Path, *extra_args: str) -> None:
        assert SERVER_BIN.is_file(), f"{SERVER_BIN} is missing: run `cargo build -p fxe-server` first"
        self.data_dir = tmp / "relay-data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp / "relay.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(SERVER_BIN), "serve", "--bind", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir),
             "--allow-private-webhooks", "--retry-schedule", "1s,1s", *extra_args],
            env=clean_env(RUST_LOG="warn"), stdout=self.log, stderr=subprocess.STDOUT, cwd=tmp,
        )
        wait_for("the relay to start", self._healthy)

    def _healthy(self) -> bool:
        assert self.proc.poll() is None, f"fxe-server exited with {self.proc.returncode}"
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def invite(self) -> str:
        out = subprocess.run(
            [str(SERVER_BIN), "invite", "create", "--data-dir", str(self.data_dir), "--json", "--public-url", self.url],
            env=clean_env(), capture_output=True, check=True,
        )
        token: str = json.loads(out.stdout)["token"]
        return token

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@dataclass
class Org:
    dir: Path
    number: str
    org_id: str
    fingerprint: str
    relay: Relay

    @property
    def keys(self) -> Path:
        return self.dir / "keys.zip"

    def client(self) -> fxe.Client:
        return fxe.Client(self.keys)

    def async_client(self) -> fxe.AsyncClient:
        return fxe.AsyncClient(self.keys)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([str(CLIENT_BIN), *args], cwd=self.dir, env=clean_env(), capture_output=True, text=True)
        if check:
            assert r.returncode == 0, f"fxe-client {' '.join(args)}: {r.returncode}\n{r.stderr}"
        return r


class Orgs:
    """Redeems orgs on demand, each with a number of its own."""

    def __init__(self, relay: Relay, tmp: Path) -> None:
        self.relay, self.tmp, self.n = relay, tmp, 0

    def new(self, name: str, number: str = "") -> Org:
        self.n += 1
        number = number or f"+1555{os.getpid() % 1000:03d}{self.n:04d}"
        d = self.tmp / f"org{self.n}"
        d.mkdir()
        r = subprocess.run(
            [str(CLIENT_BIN), "redeem", "--relay", self.relay.url, "--token", self.relay.invite(), "--org-name", name,
             "--numbers", number, "--admin-email", "admin@example.org", "--json"],
            cwd=d, env=clean_env(), capture_output=True, text=True,
        )
        assert r.returncode == 0, f"redeem: {r.stderr}"
        v = json.loads(r.stdout)
        return Org(d, number, v["org_id"], v["fingerprint"], self.relay)


@pytest.fixture(scope="session")
def relay() -> Iterator[Relay]:
    with tempfile.TemporaryDirectory(prefix="fxe-py-relay-") as tmp:
        r = Relay(Path(tmp))
        try:
            yield r
        finally:
            r.stop()


@pytest.fixture(scope="session")
def orgs(relay: Relay, tmp_path_factory: pytest.TempPathFactory) -> Orgs:
    assert CLIENT_BIN.is_file(), f"{CLIENT_BIN} is missing: run `cargo build -p fxe-client` first"
    return Orgs(relay, tmp_path_factory.mktemp("orgs"))


@pytest.fixture()
def pair(orgs: Orgs) -> tuple[Org, Org]:
    """Two fresh orgs: A (a clinic) and B (a law firm)."""
    return orgs.new("Clinic A"), orgs.new("Law firm B")


def pdf_bytes(n: int, seed: int = 1) -> bytes:
    """A PDF-looking payload of ``n`` bytes."""
    import random

    rnd = random.Random(seed)
    head = b"%PDF-1.7\n"
    return head + rnd.randbytes(max(0, n - len(head)))


def received_until(client: fxe.Client, out: Path, n: int, timeout: float = 60.0) -> list[Path]:
    """Runs receive until ``n`` PDFs are in ``out``."""
    deadline = time.monotonic() + timeout
    while True:
        client.receive(out)
        files = sorted(out.glob("*.pdf"))
        assert not list(out.glob(".fxe-tmp-*")), "a temporary file was left behind"
        if len(files) >= n:
            return files
        assert time.monotonic() < deadline, f"only {len(files)} of {n} faxes arrived"
        time.sleep(0.2)
