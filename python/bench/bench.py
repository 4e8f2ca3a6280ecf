"""`make bench-python`: the SDK's sealing and opening of 100 MiB next to
pyca/cryptography AES-256-GCM + hashlib SHA-256 over the same bytes in the same
run (the same work per byte: one AES-GCM pass and one SHA-256 of the
ciphertext), and fax cycles per second against a real relay next to the Rust
relay bench's figure. Writes target/bench-results/python.json in the shared
format ({"name","value","unit","peer_value"?,"peer"?})."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import fxe
from fxe import _native

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "tests"))

SIZE = 104_856_000  # the largest fax whose ciphertext fits the 100 MiB cap
PIECE = 1 << 20
MIB = 1024 * 1024


def best(n: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    from conftest import Orgs, Relay  # the test fixtures' relay and orgs

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data = os.urandom(SIZE)
    pieces = [data[i : i + PIECE] for i in range(0, SIZE, PIECE)]
    with tempfile.TemporaryDirectory() as tmp:
        relay = Relay(Path(tmp), "--rate-limit-per-minute", "1000000")
        try:
            orgs = Orgs(relay, Path(tmp))
            a, b = orgs.new("Bench A"), orgs.new("Bench B")
            ka, kb = fxe.load_keys(a.keys), fxe.load_keys(b.keys)
            sealed: dict[str, Any] = {}

            def seal() -> None:
                s = _native.Sealer(ka, kb.identity_pub, kb.active_bundle_json(), message_id=_native.new_message_id(),
                                   created_at=int(time.time()), from_number=a.number, from_name="", to_number=b.number)
                out = [s.feed(p) for p in pieces]
                last, env = s.finish()
                out.append(last)
                sealed["ct"], sealed["env"] = out, env

            def open_() -> None:
                o = _native.Opener(kb, [b.number], sealed["env"], ka.identity_pub, ka.active_bundle_json())
                for c in sealed["ct"]:
                    o.feed(c)
                o.finish()

            key = AESGCM.generate_key(bit_length=256)
            aead = AESGCM(key)
            peer: dict[str, Any] = {}

            def peer_seal() -> None:
                h = hashlib.sha256()
                out = []
                for i, p in enumerate(pieces):
                    c = aead.encrypt(i.to_bytes(11, "big") + (b"\x01" if i == len(pieces) - 1 else b"\x00"), p, None)
                    h.update(c)
                    out.append(c)
                h.digest()
                peer["ct"] = out

            def peer_open() -> None:
                h = hashlib.sha256()
                for i, c in enumerate(peer["ct"]):
                    h.update(c)
                    aead.decrypt(i.to_bytes(11, "big") + (b"\x01" if i == len(pieces) - 1 else b"\x00"), c, None)
                h.digest()

            seal(), peer_seal()  # warm up
            t_seal, t_peer_seal = best(3, seal), best(3, peer_seal)
            t_open, t_peer_open = best(3, open_), best(3, peer_open)

            with a.client() as ca, b.client() as cb:
                page = b"%PDF-1.7\n" + os.urandom(50_000)
                ca.lookup(b.number)
                n, start = 0, time.perf_counter()
                while time.perf_counter() - start < 10:
                    ca.send(to=b.number, from_=a.number, file=page)
                    while not cb.receive(Path(tmp) / "in"):
                        pass
                    n += 1
                cycles = n / (time.perf_counter() - start)
        finally:
            relay.stop()

    mibs = SIZE / MIB
    rust_cycles = None
    relay_json = ROOT / "target" / "bench-results" / "relay.json"
    if relay_json.is_file():
        rates = [r for r in json.loads(relay_json.read_text()) if "cycle" in r["name"] and r["unit"] == "faxes/s"]
        one = [r for r in rates if " 1 clients" in r["name"]] or rates
        if one:
            rust_cycles = (str(one[0]["name"]), float(one[0]["value"]))
    records: list[dict[str, Any]] = [
        {"name": "python seal 100 MiB", "value": round(mibs / t_seal, 1), "unit": "MiB/s",
         "peer": "cryptography AESGCM + hashlib", "peer_value": round(mibs / t_peer_seal, 1)},
        {"name": "python open 100 MiB", "value": round(mibs / t_open, 1), "unit": "MiB/s",
         "peer": "cryptography AESGCM + hashlib", "peer_value": round(mibs / t_peer_open, 1)},
        {"name": f"python fax cycle, 1 client, ~50 KB ({Path(os.environ.get('FXE_SERVER_BIN', 'debug relay')).parent.name} relay)", "value": round(cycles, 2), "unit": "faxes/s",
         **({"peer": f"rust bench: {rust_cycles[0]}", "peer_value": rust_cycles[1]} if rust_cycles else {})},
    ]
    out = ROOT / "target" / "bench-results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "python.json").write_text(json.dumps(records, indent=2) + "\n")
    for r in records:
        ratio = f"  ({r['value'] / r['peer_value']:.0%} of {r['peer']})" if r.get("peer_value") else ""
        print(f"{r['name']:<40} {r['value']:>10} {r['unit']}{ratio}")


if __name__ == "__main__":
    main()
