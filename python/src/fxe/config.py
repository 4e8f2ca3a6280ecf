"""Credentials as ``fxe-client`` finds them: arguments first, then
``FXE_KEYS`` (default ``./keys.zip``), ``FXE_PASSPHRASE``, ``FXE_RELAY``
(default: the relay named in keys.zip) and ``FXE_STATE_DIR`` (default: the
folder holding keys.zip)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from ._native import Keys
from .errors import KeysError

KeysSource = Union[str, "os.PathLike[str]", bytes, Keys, None]


def load_keys(keys: KeysSource = None, passphrase: Optional[str] = None) -> Keys:
    """Reads keys.zip (a path, its bytes, or ``FXE_KEYS``/``./keys.zip``)."""
    return resolve(keys, passphrase)[0]


def resolve(keys: KeysSource, passphrase: Optional[str]) -> tuple[Keys, Optional[Path]]:
    if isinstance(keys, Keys):
        return keys, None
    if passphrase is None:
        passphrase = os.environ.get("FXE_PASSPHRASE") or None
    if isinstance(keys, (bytes, bytearray)):
        return Keys.load(bytes(keys), passphrase), None
    path = Path(keys if keys is not None else os.environ.get("FXE_KEYS") or "keys.zip")
    try:
        data = path.read_bytes()
    except OSError as e:
        err = KeysError(f"cannot read keys file {path}: {e.strerror} (pass keys= or set FXE_KEYS)")
        err.code = "bad_keys"
        raise err from None
    try:
        return Keys.load(data, passphrase), path
    except KeysError as e:
        err = KeysError(f"{path}: {e}")
        err.code = e.code
        raise err from None


def relay_url(keys: Keys, relay: Optional[str]) -> str:
    url = (relay or os.environ.get("FXE_RELAY") or keys.relay_url).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise KeysError(f"the relay URL must be http(s): {url!r}")
    return url


def state_dir(state: Union[str, "os.PathLike[str]", None], keys_path: Optional[Path]) -> Path:
    if state is not None:
        return Path(state)
    env = os.environ.get("FXE_STATE_DIR")
    if env:
        return Path(env)
    if keys_path is not None:
        return keys_path.parent if str(keys_path.parent) else Path(".")
    return Path(".")
