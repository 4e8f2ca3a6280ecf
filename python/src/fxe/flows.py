"""Every feature once, as a flow of :mod:`fxe.ops` (run sync or async by
:mod:`fxe.transport`). Cryptography and formats go through ``fxe._native``
(``fxe-protocol``); this module only sequences calls, files and state, in
the order ``fxe-client`` uses (docs/cli.md)."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Optional, Sequence

from . import _native
from .auth import quote_part
from .convert import Source, open_source
from .errors import (
    ConnectionError,
    AuthenticationError,
    FxeError,
    InvalidInputError,
    KeyChangedError,
    NotFoundError,
    NotOnNetworkError,
    PermissionDeniedError,
    TimeoutError,
    VerificationError,
)
from .files import TEMP_PREFIX, FileExistsFxeError, publish, temp_next_to, write_atomic
from .models import Delivery, Message, Org, ReceivedFax, SentFax
from .ops import Call, Download, Flow, Sleep, T, Upload, Work
from .state import State

PIECE = 1 << 20
FINAL = ("delivered", "rejected", "expired", "failed")


@dataclass
class Ctx:
    keys: _native.Keys
    state: State
    keys_path: Optional[Path] = None
    passphrase: Optional[str] = None
    numbers: Optional[list[str]] = field(default=None)


def _now() -> int:
    return int(time.time())


def _json(v: Any) -> bytes:
    return json.dumps(v, separators=(",", ":")).encode("utf-8")


def number_arg(number: str) -> str:
    return _native.normalize_number(number)


def message_id_arg(message: Any) -> str:
    mid = message.message_id if isinstance(message, Message) else str(message)
    _native.validate_message_id(mid)
    return mid


# ---- directory and pins ------------------------------------------------------


@dataclass(frozen=True)
class Found:
    org: Org
    identity_pub: bytes
    bundle_json: str


def _entry(state: State, number: str, scope: str) -> Flow[Optional[dict[str, Any]]]:
    try:
        entry = yield Call("GET", f"/directory/{quote_part(number)}", scope)
    except NotFoundError as e:
        if e.code == "not_on_network":
            return None
        raise
    entry_json = json.dumps(entry)
    checked: dict[str, Any] = _native.verify_directory_entry(number, entry_json)
    yield from _log_check(state, entry_json, scope)
    return checked


def _log_check(state: State, entry_json: str, scope: str) -> Flow[None]:
    """Checks a directory answer's transparency proof (docs/transparency.md §6) under the
    pinned policy, pinning the relay's on first use; a relay without a log (404) is
    guarded by the pins alone. A rollback or fork against a checkpoint kept before, by the
    SDK or by fxe-client, is refused."""
    policy = state.log_policy()
    if policy is None:
        try:
            offered = yield Call("GET", "/transparency/policy", scope)
        except NotFoundError:
            return None
        policy = json.dumps(offered)
        state.pin_log_policy(policy)
    own, cli = state.log_seen()
    now = int(time.time())
    if cli is not None:
        _keeping_evidence(state, lambda: _native.log_check(policy, entry_json, cli, now))
    newer = _keeping_evidence(state, lambda: _native.log_check(policy, entry_json, own, now))
    if newer is not None:
        state.keep_log_seen(newer)
    yield from _log_latest(state, policy, entry_json, scope)
    return None


def _keeping_evidence(state: State, check: Callable[[], T]) -> T:
    """Runs a transparency check; a rollback or fork it finds is raised with both signed
    checkpoints kept in ``fxe-log/evidence/`` (as fxe-client keeps them): the file is the
    error's ``evidence_path``."""
    try:
        return check()
    except VerificationError as e:
        if e.evidence is not None:
            seen, offered = e.evidence
            kind = "fork" if e.code == "log_fork" else "rollback"
            e.evidence_path = str(state.keep_log_evidence(kind, seen, offered))
        raise


# A replica synced this recently (seconds) is used as it is, if it reaches the answer's checkpoint.
LOG_FRESH = 2.0


def _get_bytes(path: str, scope: str) -> Flow[bytes]:
    parts: list[bytes] = []
    yield Download(path, scope, parts.append)
    return b"".join(parts)


def _log_latest(state: State, policy: str, entry_json: str, scope: str) -> Flow[None]:
    """A proof shows the answer's facts are in the log, not that they are still the latest
    (an older binding of the number, or a bundle the org replaced, is in the log too): the
    answer is checked against the SDK's replica, synced to at least its checkpoint
    (docs/transparency.md §5, §6)."""
    answer_size = int(json.loads(entry_json)["log"]["checkpoint"].split("\n")[1])
    replica = yield from _log_synced(state, policy, answer_size, False, scope)
    replica.check_directory(entry_json)
    return None


def _log_synced(state: State, policy: str, min_size: int, force: bool, scope: str) -> Flow[_native.LogReplica]:
    """The SDK's replica of the log, synced to the relay's newest checkpoint unless it was
    synced in the last ``LOG_FRESH`` seconds and holds ``min_size`` entries (always with
    ``force``). A checkpoint behind one accepted before is refused with the evidence kept."""
    replica = state.log_replica(policy)
    if force or replica.size < min_size or time.monotonic() - state.log_synced >= LOG_FRESH:
        note = (yield from _get_bytes("/transparency/checkpoint", scope)).decode("utf-8", "replace")
        # Not behind a checkpoint this SDK or fxe-client accepted before (from an answer).
        own, cli = state.log_seen()
        if cli is not None:
            _keeping_evidence(state, lambda: _native.log_checkpoint_check(policy, note, cli, _now()))
        newer = _keeping_evidence(state, lambda: _native.log_checkpoint_check(policy, note, own, _now()))
        if newer is not None:
            state.keep_log_seen(newer)
        paths = _keeping_evidence(state, lambda: replica.tiles_needed(note, _now()))
        tiles = []
        for path in paths:
            tiles.append((yield from _get_bytes(f"/transparency/{path}", scope)))
        yield Work(lambda: _keeping_evidence(state, lambda: replica.advance(tiles)))
        state.keep_log_replica(replica)
        state.log_synced = time.monotonic()
    return replica


# How long (seconds) to wait before asking the log again about keys it does not hold yet:
# the relay sequences within 2 s (docs/transparency.md §2.2), plus a margin.
LOG_BATCH_WAIT = 2.5


def _log_org(state: State, v: dict[str, Any], scope: str) -> Flow[None]:
    """Checks an org's keys as the relay gave them by id (``_org_keys``) against the SDK's
    replica: the org is logged with that identity and each bundle offered is one of its
    logged bundles (docs/transparency.md §6), as fxe-client does. Keys the log does not hold
    are asked about once more after the batch time, then refused (``not_in_log``). A relay
    without a log, for an SDK that pinned no policy, is guarded by the pins alone."""
    policy = state.log_policy()
    if policy is None:
        return None
    for waited in (False, True):
        replica = yield from _log_synced(state, policy, 0, waited, scope)
        try:
            for bundle_json in v["bundles"].values():
                replica.check_org_bundle(v["org_id"], v["identity_pub"], bundle_json)
            return None
        except VerificationError as e:
            if waited or e.code != "not_in_log":
                raise
        yield Sleep(LOG_BATCH_WAIT)
    return None


def lookup(ctx: Ctx, number: str) -> Flow[Optional[Found]]:
    number = number_arg(number)
    v = yield from _entry(ctx.state, number, "send")
    if v is None:
        return None
    first = ctx.state.check_pins(number, v["identity_pub"], v["bundle_json"])
    org = Org(v["org_id"], v["org_name"], v["fingerprint"], v["bundle_id"], number, first)
    return Found(org, v["identity_pub"], v["bundle_json"])


def _org_keys(org_id: str, scope: str) -> Flow[dict[str, Any]]:
    if len(org_id) != 32 or any(c not in "0123456789abcdef" for c in org_id):
        raise InvalidInputError(f"invalid org id {org_id!r}: 32 lowercase hex characters")
    org = yield Call("GET", f"/orgs/{org_id}", scope)
    bundles = yield Call("GET", f"/orgs/{org_id}/bundles", scope)
    v: dict[str, Any] = _native.verify_org(org_id, json.dumps(org), json.dumps(bundles))
    return v


def org_bundle(ctx: Ctx, org_id: str, bundle_id: str, scope: str) -> Flow[tuple[bytes, str]]:
    """The pinned identity of ``org_id`` and its bundle ``bundle_id``, verified and checked
    against the transparency log."""
    v = yield from _org_keys(org_id, scope)
    yield from _log_org(ctx.state, v, scope)
    ctx.state.check_pins(None, v["identity_pub"], v["newest_bundle_json"])
    bundle = v["bundles"].get(bundle_id)
    if bundle is None:
        raise VerificationError(f"bundle {bundle_id} is not among org {org_id}'s bundles")
    return v["identity_pub"], bundle


def trust(ctx: Ctx, target: str, fingerprint: str) -> Flow[Org]:
    target = target.strip()
    if target.startswith("+") or target.startswith("00"):
        number = number_arg(target)
        v = yield from _entry(ctx.state, number, "send")
        if v is None:
            raise NotOnNetworkError(f"{number} is not on the fxe network")
        identity, bundle_json, bundle_id = v["identity_pub"], v["bundle_json"], v["bundle_id"]
        org = Org(v["org_id"], v["org_name"], v["fingerprint"], bundle_id, number)
    else:
        number = None
        o = yield from _org_keys(target, "send")
        yield from _log_org(ctx.state, o, "send")
        identity, bundle_json = o["identity_pub"], o["newest_bundle_json"]
        bundle_id = json.loads(bundle_json)["bundle_id"]
        org = Org(o["org_id"], o["org_name"], o["fingerprint"], bundle_id)
    ctx.state.trust(number, identity, bundle_json, fingerprint)
    return org


# ---- sending -----------------------------------------------------------------


def _seal(
    ctx: Ctx, found: Found, source: IO[bytes], message_id: str, from_: str, to: str, from_name: str
) -> tuple[IO[bytes], str, bytes]:
    sealer = _native.Sealer(
        ctx.keys,
        found.identity_pub,
        found.bundle_json,
        message_id=message_id,
        created_at=_now(),
        from_number=from_,
        from_name=from_name,
        to_number=to,
    )
    out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - returned open
    try:
        while True:
            piece = source.read(PIECE)
            if not piece:
                break
            out.write(sealer.feed(piece))
        last, envelope_json = sealer.finish()
        out.write(last)
        out.flush()
    except OSError as e:
        out.close()
        raise InvalidInputError(f"cannot read the file to send or write the sealed copy: {e}") from None
    except BaseException:
        out.close()
        raise
    return out, envelope_json, sealer.content_key


def send(
    ctx: Ctx, to: str, from_: str, file: Source, from_name: str, wait: bool, timeout: float, force: bool
) -> Flow[SentFax]:
    to, from_ = number_arg(to), number_arg(from_)
    source = yield Work(lambda: open_source(file, force=force))
    try:
        found = yield from lookup(ctx, to)
        if found is None:
            raise NotOnNetworkError(f"{to} is not on the fxe network: send it through your PSTN fax carrier")
        message_id = _native.new_message_id()
        sealed, envelope_json, cek = yield Work(lambda: _seal(ctx, found, source, message_id, from_, to, from_name))
    finally:
        if source is not file:
            source.close()
    with sealed:
        # Kept before the relay hears of the fax, so a delivered fax always has it (proof_export).
        envelope_hash = _native.parse_envelope(envelope_json)["envelope_hash"]
        ctx.state.keep_sent_cek(ctx.keys.org_id, message_id, envelope_hash, cek)
        length = json.loads(envelope_json)["ciphertext_len"]
        yield Call("POST", "/messages", "send", b'{"envelope":' + envelope_json.encode("utf-8") + b"}")
        uploaded = yield Upload(f"/messages/{message_id}/content", "send", sealed, length)
    sent = SentFax(message_id, str(uploaded["status"]), to, from_, found.org, length)
    if not wait:
        return sent
    deadline = time.monotonic() + timeout
    while True:
        m = yield from fetch(ctx, message_id, "send")
        if m[0].status in FINAL:
            d = verdict(m[0], envelope_json, found.bundle_json)
            return SentFax(message_id, d.status, to, from_, found.org, length, d)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no receipt for {message_id} within {timeout:g} s (still {m[0].status})")
        yield Sleep(0.5)


def verdict(msg: Message, envelope_json: str, recipient_bundle_json: str) -> Delivery:
    """The outcome, with the receipt or refusal verified (a forged one raises VerificationError)."""
    if msg.status == "delivered":
        if msg.receipt is None:
            raise VerificationError(f"{msg.message_id} is delivered but has no receipt")
        at = _native.verify_receipt(json.dumps(msg.receipt), envelope_json, recipient_bundle_json)
        return Delivery(msg, "delivered", True, received_at=at)
    if msg.status == "rejected":
        if msg.refusal is None:
            raise VerificationError(f"{msg.message_id} is rejected but has no refusal")
        at, reason = _native.verify_refusal(json.dumps(msg.refusal), envelope_json, recipient_bundle_json)
        return Delivery(msg, "rejected", True, refused_at=at, reason=reason)
    return Delivery(msg, msg.status, False)


def fetch(ctx: Ctx, message_id: str, scope: str) -> Flow[tuple[Message, str, dict[str, Any]]]:
    """The message with its envelope, checked to be the one asked for."""
    raw = yield Call("GET", f"/messages/{message_id}", scope)
    msg = Message.from_json(raw)
    if msg.envelope is None:
        raise VerificationError(f"the relay sent {message_id} without its envelope")
    envelope_json = json.dumps(msg.envelope)
    env: dict[str, Any] = _native.parse_envelope(envelope_json)
    if env["message_id"] != message_id or env["envelope_hash"] != msg.envelope_hash:
        raise VerificationError(f"the relay's envelope for {message_id} does not match the message")
    return msg, envelope_json, env


def status(ctx: Ctx, message: Any) -> Flow[Delivery]:
    mid = message_id_arg(message)
    msg, envelope_json, env = yield from fetch(ctx, mid, "send")
    if env["recipient_org_id"] == ctx.keys.org_id:
        bundle = ctx.keys.bundle_json(env["recipient_bundle_id"])
        if bundle is None:
            raise FxeError(f"{mid} was sealed to bundle {env['recipient_bundle_id']}, which keys.zip does not hold")
    else:
        _, bundle = yield from org_bundle(ctx, env["recipient_org_id"], env["recipient_bundle_id"], "send")
    return verdict(msg, envelope_json, bundle)


# ---- proofs of delivery (docs/proof.md) ---------------------------------------


def _party(ctx: Ctx, org_id: str, bundle_id: str) -> Flow[tuple[bytes, str]]:
    """The identity and bundle ``bundle_id`` of ``org_id``: ours from keys.zip, another's pinned."""
    if org_id == ctx.keys.org_id:
        bundle = ctx.keys.bundle_json(bundle_id)
        if bundle is None:
            raise FxeError(f"bundle {bundle_id} of this org is not in keys.zip")
        return ctx.keys.identity_pub, bundle
    return (yield from org_bundle(ctx, org_id, bundle_id, "send"))


def proof_export(ctx: Ctx, message: Any, out: Path, with_document: bool) -> Flow[dict[str, Any]]:
    """Writes the ``.fxeproof`` of a delivered or refused fax (``fxe-client proof export``),
    verified first (by the recipient also against the saved PDF); returns its statement."""
    mid = message_id_arg(message)
    if out.exists():
        raise FileExistsFxeError(f"{out} already exists; refusing to overwrite it")
    msg, envelope_json, env = yield from fetch(ctx, mid, "send")
    if msg.status not in ("delivered", "rejected"):
        raise FxeError(f"{mid} is {msg.status}: a proof needs the recipient's signed receipt or refusal")
    s_id, s_bundle = yield from _party(ctx, env["sender_org_id"], env["sender_bundle_id"])
    r_id, r_bundle = yield from _party(ctx, env["recipient_org_id"], env["recipient_bundle_id"])
    cek: Optional[bytes] = None
    saved: Optional[Path] = None
    if with_document:
        if env["recipient_org_id"] == ctx.keys.org_id:
            cek = ctx.keys.unwrap_cek(envelope_json)
            saved = ctx.state.received_file(ctx.keys.org_id, env["sender_org_id"], mid)
        else:
            cek = ctx.state.sent_cek(ctx.keys.org_id, mid, env["envelope_hash"])
            if cek is None:
                raise FxeError(f"the content key of {mid} is not in {ctx.state.dir}: export without the document")
    signed = json.dumps(msg.receipt if msg.status == "delivered" else msg.refusal)
    text = _native.proof_make(
        envelope_json, s_id, s_bundle, r_id, r_bundle, cek=cek,
        **({"receipt_json": signed} if msg.status == "delivered" else {"refusal_json": signed}),
    )
    statement: dict[str, Any] = json.loads(_native.proof_verify(text.encode("utf-8")))
    if saved is not None:  # the recipient's saved copy, when it is still the fax
        try:
            statement = json.loads(_native.proof_verify(text.encode("utf-8"), saved))
        except VerificationError:
            pass
    write_atomic(out, text.encode("utf-8"), overwrite=False)
    return statement


# ---- receiving ---------------------------------------------------------------


def _numbers(ctx: Ctx) -> Flow[list[str]]:
    if ctx.numbers is None:
        org = yield Call("GET", "/org", "receive")
        ctx.numbers = [str(n["number"]) for n in org.get("numbers", []) if n.get("status", "active") == "active"]
    return ctx.numbers


def _refuse(ctx: Ctx, message_id: str, envelope_json: str, reason: str) -> Flow[Message]:
    body = ctx.keys.make_refusal(envelope_json, _now(), reason).encode("utf-8")
    raw = yield Call("POST", f"/messages/{message_id}/reject", "receive", body)
    return Message.from_json(raw)


def _receipt(ctx: Ctx, message_id: str, envelope_json: str) -> Flow[None]:
    body = ctx.keys.make_receipt(envelope_json, _now()).encode("utf-8")
    yield Call("POST", f"/messages/{message_id}/receipt", "receive", body)


class _Sink:
    """Opens the ciphertext as it arrives into a hidden temporary file beside ``dest``."""

    def __init__(self, opener: _native.Opener, dest: Path) -> None:
        self.opener = opener
        self.file, self.tmp = temp_next_to(dest)

    def __call__(self, piece: bytes) -> None:
        self.file.write(self.opener.feed(piece))

    def publish(self, dest: Path) -> None:
        self.opener.finish()
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        publish(self.tmp, dest, overwrite=False)

    def discard(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)


def open_message(ctx: Ctx, message: Any, dest: Path) -> Flow[ReceivedFax]:
    """Receives one message into ``dest``: verify while streaming, write
    atomically, record, then post the signed receipt (``fxe-client receive``)."""
    mid = message_id_arg(message)
    msg, envelope_json, env = yield from fetch(ctx, mid, "receive")
    done = ReceivedFax("received", mid, env["from_number"], env["from_name"], env["to_number"], env["sender_org_id"], dest)
    org_id = ctx.keys.org_id
    if ctx.state.was_received(org_id, env["sender_org_id"], mid) or dest.exists():
        if msg.status == "queued":  # written before a crash: the receipt is still due
            yield from _receipt(ctx, mid, envelope_json)
        return _replace(done, event="already_received")
    if env["content_type"] != _native.CONTENT_TYPE_PDF:
        yield from _refuse(ctx, mid, envelope_json, "not_a_pdf")
        return _replace(done, event="refused", path=None, reason="not_a_pdf", error=f"content type {env['content_type']!r}")
    numbers = yield from _numbers(ctx)
    identity, bundle = yield from org_bundle(ctx, env["sender_org_id"], env["sender_bundle_id"], "receive")
    try:
        opener = _native.Opener(ctx.keys, numbers, envelope_json, identity, bundle)
        sink = _Sink(opener, dest)
    except VerificationError as e:
        yield from _refuse(ctx, mid, envelope_json, "cannot_open")
        return _replace(done, event="refused", path=None, reason="cannot_open", error=str(e))
    try:
        yield Download(f"/messages/{mid}/content", "receive", sink)
        sink.publish(dest)
    except VerificationError as e:
        sink.discard()
        yield from _refuse(ctx, mid, envelope_json, "cannot_open")
        return _replace(done, event="refused", path=None, reason="cannot_open", error=str(e))
    except BaseException:
        sink.discard()
        raise
    ctx.state.mark_received(org_id, env["sender_org_id"], mid, dest)
    yield from _receipt(ctx, mid, envelope_json)
    return done


def _replace(r: ReceivedFax, **kw: Any) -> ReceivedFax:
    import dataclasses

    return dataclasses.replace(r, **kw)


def _lock(out_dir: Path) -> IO[bytes]:
    """One receiver per folder: the CLI's ``.fxe-receive.lock`` (flock), then
    the temporary files a killed receiver left are removed."""
    f = open(out_dir / ".fxe-receive.lock", "ab")  # noqa: SIM115 - held until the end of receive
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise FxeError(f"another receiver is using {out_dir}: run one receiver per output folder") from None
    for p in out_dir.iterdir():
        if p.name.startswith(TEMP_PREFIX):
            p.unlink(missing_ok=True)
    return f


def queued(ctx: Ctx) -> Flow[list[Message]]:
    """Every queued inbox message, oldest first."""
    items: list[Message] = []
    cursor: Optional[str] = None
    while True:
        q = "/messages?box=inbox&status=queued&limit=500"
        if cursor:
            q += f"&cursor={quote_part(cursor)}"
        page = yield Call("GET", q, "receive")
        items.extend(Message.from_json(m) for m in page["items"])
        nxt = page.get("next_cursor")
        if not nxt or nxt == cursor:
            break
        cursor = nxt
    items.reverse()
    return items


def receive(ctx: Ctx, out_dir: Path) -> Flow[list[ReceivedFax]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(out_dir)
    try:
        results = []
        for m in (yield from queued(ctx)):
            try:
                r = yield from open_message(ctx, m.message_id, out_dir / f"{m.message_id}.pdf")
            except (KeyChangedError, ConnectionError, AuthenticationError, PermissionDeniedError):
                raise
            except (FxeError, OSError) as e:
                if isinstance(e, FileExistsFxeError):
                    raise
                r = ReceivedFax("failed", m.message_id, m.from_number, m.from_name, m.to_number, m.sender_org_id, error=str(e))
            results.append(r)
        return results
    finally:
        lock.close()


def reject(ctx: Ctx, message: Any, reason: str) -> Flow[Message]:
    mid = message_id_arg(message)
    _, envelope_json, _ = yield from fetch(ctx, mid, "receive")
    msg = yield from _refuse(ctx, mid, envelope_json, reason)
    return msg


# ---- lists -------------------------------------------------------------------


def page(path: str, scope: str) -> Flow[tuple[list[Any], Optional[str]]]:
    p = yield Call("GET", path, scope)
    return list(p["items"]), p.get("next_cursor")


class Pager:
    """Walks ``GET /messages`` page by page (the query built once, then the cursor)."""

    def __init__(self, box: str, status: Optional[str], number: Optional[str], since: Optional[str],
                 until: Optional[str], updated_since: Optional[str], limit: int) -> None:
        if box not in ("inbox", "outbox"):
            raise InvalidInputError(f"box must be 'inbox' or 'outbox', not {box!r}")
        params = {
            "box": box,
            "status": status,
            "number": number_arg(number) if number else None,
            "since": since,
            "until": until,
            "updated_since": updated_since,
            "order": "asc" if updated_since else None,
            "limit": str(max(1, min(limit, 500))),
        }
        self.query = "/messages?" + "&".join(f"{k}={quote_part(v)}" for k, v in params.items() if v is not None)
        self.scope = "receive" if box == "inbox" else "send"
        self.cursor: Optional[str] = None
        self.done = False

    def next_path(self) -> Optional[str]:
        if self.done:
            return None
        return self.query + (f"&cursor={quote_part(self.cursor)}" if self.cursor else "")

    def take(self, answer: tuple[list[Any], Optional[str]]) -> list[Message]:
        items, nxt = answer
        self.done = not nxt or nxt == self.cursor
        self.cursor = nxt
        return [Message.from_json(m) for m in items]


# ---- keys, API keys, webhooks ------------------------------------------------


def _stage(ctx: Ctx, new: _native.Keys) -> Optional[Path]:
    """keys.zip's new version, written beside it before the relay learns of the change."""
    if ctx.keys_path is None:
        return None
    f, tmp = temp_next_to(ctx.keys_path)
    with f:
        f.write(new.to_zip(ctx.passphrase))
        f.flush()
        os.fsync(f.fileno())
    return tmp


def _commit(ctx: Ctx, new: _native.Keys, staged: Optional[Path]) -> None:
    if staged is not None and ctx.keys_path is not None:
        publish(staged, ctx.keys_path, overwrite=True)
    ctx.keys = new


def _with_staged(ctx: Ctx, new: _native.Keys, call: Call) -> Flow[Any]:
    staged = yield Work(lambda: _stage(ctx, new))
    try:
        answer = yield call
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    _commit(ctx, new, staged)
    return answer


def rotate_bundle(ctx: Ctx) -> Flow[str]:
    new, bundle_json = ctx.keys.with_new_bundle(_now())
    body = b'{"bundle":' + bundle_json.encode("utf-8") + b"}"
    yield from _with_staged(ctx, new, Call("POST", "/bundles", "admin", body))
    bundle_id: str = json.loads(bundle_json)["bundle_id"]
    try:  # our own org, if pinned here, moves on to the new bundle
        ctx.state.check_pins(None, new.identity_pub, bundle_json)
    except FxeError:
        pass
    return bundle_id


def create_api_key(ctx: Ctx, scopes: Sequence[str], label: str) -> Flow[Any]:
    new, _key_id, reg = ctx.keys.with_new_api_key(list(scopes))
    reg["label"] = label
    answer = yield from _with_staged(ctx, new, Call("POST", "/api-keys", "admin", _json(reg)))
    return answer


def revoke_api_key(ctx: Ctx, key_id: str) -> Flow[None]:
    new = ctx.keys.without_api_key(key_id)
    yield from _with_staged(ctx, new, Call("DELETE", f"/api-keys/{quote_part(key_id)}", "admin"))
