"""What ``send`` accepts: a PDF as is; TIFF (multi-page fax scans), PNG and
JPEG pages converted to one PDF locally with img2pdf (lossless: the image
data is embedded, not re-encoded), as the docs tell users to do."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO, Union

from .errors import InvalidInputError

Source = Union[str, "os.PathLike[str]", bytes, IO[bytes]]


class NotAPdfError(InvalidInputError):
    code = "not_a_pdf"


def _kind(head: bytes) -> str:
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return "other"


def open_source(file: Source, *, force: bool = False) -> IO[bytes]:
    """A binary file object positioned at the PDF to seal."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        f: IO[bytes] = io.BytesIO(bytes(file))
    elif isinstance(file, (str, os.PathLike)):
        path = Path(file)
        try:
            f = open(path, "rb")  # noqa: SIM115 - the caller closes it
        except OSError as e:
            raise InvalidInputError(f"cannot read {path}: {e.strerror}") from None
    elif hasattr(file, "read"):
        f = file
    else:
        raise InvalidInputError(f"file must be a path, bytes or a binary file object, not {type(file).__name__}")
    start = f.tell() if f.seekable() else 0
    head = f.read(1024)
    if not isinstance(head, bytes):
        raise InvalidInputError("file must be opened in binary mode")
    kind = _kind(head)
    if kind == "pdf" or (kind == "other" and force):
        if f.seekable():
            f.seek(start)
            return f
        rest = f.read()
        return io.BytesIO(head + rest)
    if kind == "other":
        raise NotAPdfError("the file is not a PDF, TIFF, PNG or JPEG (pass force=True to send it anyway)")
    return io.BytesIO(_images_to_pdf(head + f.read()))


def _images_to_pdf(data: bytes) -> bytes:
    import img2pdf

    try:
        out = img2pdf.convert(data)
    except Exception as e:  # img2pdf raises many types for bad images
        raise InvalidInputError(f"cannot convert the image to PDF: {e}") from None
    if not isinstance(out, bytes):
        raise InvalidInputError("cannot convert the image to PDF")
    return out
