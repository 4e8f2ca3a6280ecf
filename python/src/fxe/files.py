"""Files written atomically, as ``fxe-client`` does: a hidden temporary file
(``.fxe-tmp-*``) in the same folder, synced, then renamed (or linked, never
overwriting) into place, so nobody ever sees a partial file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO

from .errors import FxeError

TEMP_PREFIX = ".fxe-tmp-"


class FileExistsFxeError(FxeError):
    """The destination exists and is never overwritten."""

    code = "file_exists"


def temp_next_to(path: Path) -> tuple[IO[bytes], Path]:
    """An open temporary file in ``path``'s folder and its path."""
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    return os.fdopen(fd, "wb"), Path(name)


def sync_dir(folder: Path) -> None:
    """Makes a rename durable (best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(tmp: Path, dest: Path, *, overwrite: bool) -> None:
    """Moves the synced temporary file ``tmp`` to ``dest``; without
    ``overwrite`` an existing ``dest`` is an error and stays untouched."""
    if overwrite:
        os.replace(tmp, dest)
    else:
        try:
            os.link(tmp, dest)
        except FileExistsError:
            raise FileExistsFxeError(f"{dest} already exists; refusing to overwrite it") from None
        os.unlink(tmp)
    sync_dir(dest.parent)


def write_atomic(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    """Writes ``data`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f, tmp = temp_next_to(path)
    try:
        with f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, path, overwrite=overwrite)
    finally:
        tmp.unlink(missing_ok=True)
