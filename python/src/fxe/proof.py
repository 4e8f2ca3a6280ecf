"""Verifying a ``.fxeproof`` offline (docs/proof.md): no keys, no relay.
``fxe-protocol`` does every check; a failed one raises
:class:`fxe.VerificationError` whose ``code`` names it (docs/proof.md §3)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Union

from . import _native

PathLike = Union[str, "os.PathLike[str]"]

#: The largest proof file read, in bytes (docs/proof.md §2).
MAX_PROOF_LEN = 1 << 20


def proof_verify(proof: PathLike, document: Optional[PathLike] = None) -> dict[str, Any]:
    """Verifies the proof file ``proof`` (and, given the PDF ``document``, that it is the fax);
    returns the statement (docs/proof.md §4)::

        st = fxe.proof_verify("fax.fxeproof", document="scan.pdf")
        st["recipient"]["fingerprint"], st["document_sha256"]
    """
    with open(proof, "rb") as f:
        data = f.read(MAX_PROOF_LEN + 1)
    statement: dict[str, Any] = json.loads(
        _native.proof_verify(data, None if document is None else Path(document))
    )
    return statement
