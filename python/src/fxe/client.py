"""``fxe.Client`` and ``fxe.AsyncClient``: the same flows (:mod:`fxe.flows`)
run over ``httpx.Client`` or ``httpx.AsyncClient``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, AsyncIterator, Generic, Iterator, List, Optional, Sequence, TypeVar, Union

import httpx

from . import admin, config, flows
from ._native import Keys
from .auth import Auth, quote_part
from .convert import Source
from .errors import InvalidInputError
from .models import ApiKeyInfo, Delivery, Message, Org, ReceivedFax, SentFax, WebhookEndpoint
from .ops import Call, Flow, T
from .state import State
from .transport import AsyncRunner, Policy, SyncRunner

PathLike = Union[str, "os.PathLike[str]"]
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=15.0)


H = TypeVar("H", httpx.Client, httpx.AsyncClient)


class _Base(Generic[H]):
    """What both clients share: credentials, state, signing, retries. The
    constructor's arguments are documented on :class:`Client`."""

    _http_class: Any

    def __init__(
        self,
        keys: config.KeysSource = None,
        *,
        passphrase: Optional[str] = None,
        relay: Optional[str] = None,
        state_dir: Optional[PathLike] = None,
        http: Optional[H] = None,
        timeout: Union[float, httpx.Timeout] = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
    ) -> None:
        loaded, path = config.resolve(keys, passphrase)
        passphrase = passphrase or os.environ.get("FXE_PASSPHRASE") or None
        self._ctx = flows.Ctx(loaded, State(config.state_dir(state_dir, path)), path, passphrase)
        self.relay_url = config.relay_url(loaded, relay)
        self._auths: dict[str, Auth] = {}
        self._policy = Policy(self.relay_url, self._auth, max_retries, max_retry_wait)
        self._own = http is None
        self._http: H = http if http is not None else self._http_class(timeout=timeout, follow_redirects=False)
        self._start()

    def _start(self) -> None:
        """Sets up the runner and the namespaces of the concrete client."""

    def _auth(self, scope: str) -> Auth:
        signer = self._ctx.keys.signer(scope)
        auth = self._auths.get(signer.key_id)
        if auth is None:
            auth = self._auths[signer.key_id] = Auth(signer)
        return auth

    @property
    def keys(self) -> Keys:
        """The org's keys (updated by ``rotate_bundle`` and ``api_keys``)."""
        return self._ctx.keys

    @property
    def org_id(self) -> str:
        return self._ctx.keys.org_id

    # The flows, shared by both clients.
    def _lookup(self, number: str) -> Flow[Optional[Org]]:
        found = yield from flows.lookup(self._ctx, number)
        return None if found is None else found.org


class Client(_Base[httpx.Client]):
    """A member org's client of the relay.

    Credentials come from the arguments or, as for ``fxe-client``, from
    ``FXE_KEYS`` / ``FXE_PASSPHRASE`` / ``FXE_RELAY``::

        import fxe
        with fxe.Client("keys.zip") as client:
            if client.lookup("+15550000002") is None:
                ...  # not on fxe: send it through the PSTN carrier
            sent = client.send(to="+15550000002", from_="+15550000001", file="scan.pdf", wait=True)
            print(sent.message_id, sent.status)          # delivered, receipt verified
            for fax in client.receive("incoming"):
                print(fax.event, fax.path)

    Pass ``http=`` to use your own ``httpx.Client`` (proxies, TLS settings);
    it is not closed by :meth:`close`.
    """

    _http_class = httpx.Client

    def _start(self) -> None:
        self._runner = SyncRunner(self._http, self._policy)
        self.messages = Messages(self)
        self.api_keys = ApiKeys(self)
        self.webhooks = Webhooks(self)

    def _run(self, flow: Flow[T]) -> T:
        return self._runner.run(flow)

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, number: str) -> Optional[Org]:
        """Who holds ``number`` on fxe, verified and pinned; ``None`` when it
        is not on fxe (use the PSTN carrier)::

            org = client.lookup("+1 (555) 000-0002")
            print(org.org_name, org.fingerprint) if org else fax_via_pstn()
        """
        return self._run(self._lookup(number))

    def send(self, *, to: str, from_: str, file: Source, from_name: str = "", wait: bool = False,
             timeout: float = 300.0, force: bool = False) -> SentFax:
        """Seals ``file`` (a path, bytes or a binary file object; a PDF, or TIFF,
        PNG and JPEG pages converted to PDF) to ``to`` and uploads it, streamed
        from a temporary file. With ``wait=True`` waits for the signed receipt
        or refusal and verifies it::

            sent = client.send(to="+15550000002", from_="+15550000001", file="scan.pdf", wait=True)
            assert sent.delivery and sent.delivery.delivered
        """
        return self._run(flows.send(self._ctx, to, from_, file, from_name, wait, timeout, force))

    def status(self, message: Union[str, Message]) -> Delivery:
        """The message's status with its receipt or refusal verified::

            client.status(sent.message_id).delivered
        """
        return self._run(flows.status(self._ctx, message))

    def proof_export(self, message: Union[str, Message], out: PathLike, *, with_document: bool = False) -> dict[str, Any]:
        """Writes the ``.fxeproof`` of a delivered or refused fax (docs/proof.md) and returns
        its statement. ``with_document`` discloses the fax's content key, so the proof shows
        which PDF it was; the key decrypts this one fax and nothing else::

            client.proof_export(sent.message_id, "fax.fxeproof", with_document=True)
        """
        return self._run(flows.proof_export(self._ctx, message, Path(out), with_document))

    def open(self, message: Union[str, Message], dest: PathLike) -> ReceivedFax:
        """Receives one message into the file ``dest`` (verified, atomic, then receipted)::

            client.open(message_id, "fax.pdf")
        """
        return self._run(flows.open_message(self._ctx, message, Path(dest)))

    def receive(self, out_dir: PathLike) -> list[ReceivedFax]:
        """Every queued fax into ``out_dir/<message_id>.pdf``, like ``fxe-client receive``::

            for fax in client.receive("incoming"):
                print(fax.event, fax.message_id, fax.path)
        """
        return self._run(flows.receive(self._ctx, Path(out_dir)))

    def reject(self, message: Union[str, Message], reason: str) -> Message:
        """A signed refusal (``cannot_open``, ``not_a_pdf``, ``policy`` or ``other``)::

            client.reject(message_id, "policy")
        """
        return self._run(flows.reject(self._ctx, message, reason))

    def trust(self, target: str, fingerprint: str) -> Org:
        """Accepts a changed key for a number (``+…``) or an org id after a person
        checked ``fingerprint`` out of band (the CLI's pin store)::

            client.trust("+15550000002", "3f2a9c1e 77b0d4a2 …")
        """
        return self._run(flows.trust(self._ctx, target, fingerprint))

    def rotate_bundle(self) -> str:
        """Publishes a new bundle (needs the full keys.zip); keys.zip is rewritten
        atomically with the old bundles kept. Returns the new bundle id."""
        return self._run(flows.rotate_bundle(self._ctx))

    def org(self) -> Any:
        """``GET /org``: name, numbers, active bundle, counts."""
        return self._run(admin.org())


class Messages:
    """``client.messages``: the message log."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def list(self, box: str = "inbox", *, status: Optional[str] = None, number: Optional[str] = None,
             since: Optional[str] = None, until: Optional[str] = None, updated_since: Optional[str] = None,
             limit: int = 100) -> Iterator[Message]:
        """Every message, newest first, fetched page by page as you iterate. With
        ``updated_since`` (RFC 3339) it is the polling feed, oldest change first::

            for m in client.messages.list("inbox", status="queued"):
                print(m.message_id, m.from_number)
        """
        pager = flows.Pager(box, status, number, since, until, updated_since, limit)
        while (path := pager.next_path()) is not None:
            yield from pager.take(self._c._run(flows.page(path, pager.scope)))

    def get(self, message_id: str) -> Message:
        return self._c._run(admin.message_get(message_id))


class ApiKeys:
    """``client.api_keys`` (needs the full keys.zip to create)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, scopes: Sequence[str], label: str = "") -> ApiKeyInfo:
        """Makes a key pair here, registers it, and adds it to keys.zip (rewritten atomically)."""
        return self._c._run(admin.api_key_create(self._c._ctx, scopes, label))

    def list(self) -> list[ApiKeyInfo]:
        return self._c._run(admin.api_key_list())

    def revoke(self, key_id: str) -> None:
        """Revokes the key and drops it from keys.zip."""
        self._c._run(flows.revoke_api_key(self._c._ctx, key_id))


class Webhooks:
    """``client.webhooks``: the org's endpoints."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, url: str, events: Sequence[str], description: str = "") -> WebhookEndpoint:
        """A new endpoint; its ``secret`` is in this answer only."""
        return self._c._run(admin.webhook_create(url, events, description))

    def list(self) -> list[WebhookEndpoint]:
        return self._c._run(admin.webhook_list())

    def update(self, endpoint_id: str, **changes: Any) -> WebhookEndpoint:
        """Changes ``url``, ``events``, ``description`` or ``enabled``."""
        return self._c._run(admin.webhook_update(endpoint_id, changes))

    def delete(self, endpoint_id: str) -> None:
        self._c._run(admin.webhook_delete(endpoint_id))

    def rotate_secret(self, endpoint_id: str) -> WebhookEndpoint:
        """A new secret (in this answer only); the old one signs too for 24 h."""
        return self._c._run(admin.webhook_rotate_secret(endpoint_id))

    def test(self, endpoint_id: str) -> Any:
        """Sends a ``ping`` event now."""
        return self._c._run(admin.webhook_test(endpoint_id))

    def deliveries(self, endpoint_id: str) -> List[Any]:
        return self._c._run(admin.webhook_deliveries(endpoint_id))


class AsyncClient(_Base[httpx.AsyncClient]):
    """The same client for asyncio (and trio): every method is awaited::

        async with fxe.AsyncClient("keys.zip") as client:
            sent = await client.send(to="+15550000002", from_="+15550000001", file="scan.pdf")
            for fax in await client.receive("incoming"):
                print(fax.event, fax.path)

    Sealing runs in a worker thread, so the event loop keeps serving.
    """

    _http_class = httpx.AsyncClient

    def _start(self) -> None:
        self._runner = AsyncRunner(self._http, self._policy)
        self.messages = AsyncMessages(self)
        self.api_keys = AsyncApiKeys(self)
        self.webhooks = AsyncWebhooks(self)

    async def _run(self, flow: Flow[T]) -> T:
        return await self._runner.run(flow)

    async def aclose(self) -> None:
        if self._own:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def lookup(self, number: str) -> Optional[Org]:
        """See :meth:`Client.lookup`."""
        return await self._run(self._lookup(number))

    async def send(self, *, to: str, from_: str, file: Source, from_name: str = "", wait: bool = False,
                   timeout: float = 300.0, force: bool = False) -> SentFax:
        """See :meth:`Client.send`."""
        return await self._run(flows.send(self._ctx, to, from_, file, from_name, wait, timeout, force))

    async def status(self, message: Union[str, Message]) -> Delivery:
        """See :meth:`Client.status`."""
        return await self._run(flows.status(self._ctx, message))

    async def proof_export(
        self, message: Union[str, Message], out: PathLike, *, with_document: bool = False
    ) -> dict[str, Any]:
        """See :meth:`Client.proof_export`."""
        return await self._run(flows.proof_export(self._ctx, message, Path(out), with_document))

    async def open(self, message: Union[str, Message], dest: PathLike) -> ReceivedFax:
        """See :meth:`Client.open`."""
        return await self._run(flows.open_message(self._ctx, message, Path(dest)))

    async def receive(self, out_dir: PathLike) -> list[ReceivedFax]:
        """See :meth:`Client.receive`."""
        return await self._run(flows.receive(self._ctx, Path(out_dir)))

    async def reject(self, message: Union[str, Message], reason: str) -> Message:
        """See :meth:`Client.reject`."""
        return await self._run(flows.reject(self._ctx, message, reason))

    async def trust(self, target: str, fingerprint: str) -> Org:
        """See :meth:`Client.trust`."""
        return await self._run(flows.trust(self._ctx, target, fingerprint))

    async def rotate_bundle(self) -> str:
        """See :meth:`Client.rotate_bundle`."""
        return await self._run(flows.rotate_bundle(self._ctx))

    async def org(self) -> Any:
        """See :meth:`Client.org`."""
        return await self._run(admin.org())


class AsyncMessages:
    """``client.messages`` of :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def list(self, box: str = "inbox", *, status: Optional[str] = None, number: Optional[str] = None,
                   since: Optional[str] = None, until: Optional[str] = None, updated_since: Optional[str] = None,
                   limit: int = 100) -> AsyncIterator[Message]:
        """See :meth:`Messages.list` (``async for m in client.messages.list(...)``)."""
        pager = flows.Pager(box, status, number, since, until, updated_since, limit)
        while (path := pager.next_path()) is not None:
            for m in pager.take(await self._c._run(flows.page(path, pager.scope))):
                yield m

    async def get(self, message_id: str) -> Message:
        return await self._c._run(admin.message_get(message_id))


class AsyncApiKeys:
    """See :class:`ApiKeys`."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def create(self, scopes: Sequence[str], label: str = "") -> ApiKeyInfo:
        return await self._c._run(admin.api_key_create(self._c._ctx, scopes, label))

    async def list(self) -> list[ApiKeyInfo]:
        return await self._c._run(admin.api_key_list())

    async def revoke(self, key_id: str) -> None:
        await self._c._run(flows.revoke_api_key(self._c._ctx, key_id))


class AsyncWebhooks:
    """See :class:`Webhooks`."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def create(self, url: str, events: Sequence[str], description: str = "") -> WebhookEndpoint:
        return await self._c._run(admin.webhook_create(url, events, description))

    async def list(self) -> list[WebhookEndpoint]:
        return await self._c._run(admin.webhook_list())

    async def update(self, endpoint_id: str, **changes: Any) -> WebhookEndpoint:
        return await self._c._run(admin.webhook_update(endpoint_id, changes))

    async def delete(self, endpoint_id: str) -> None:
        await self._c._run(admin.webhook_delete(endpoint_id))

    async def rotate_secret(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._c._run(admin.webhook_rotate_secret(endpoint_id))

    async def test(self, endpoint_id: str) -> Any:
        return await self._c._run(admin.webhook_test(endpoint_id))

    async def deliveries(self, endpoint_id: str) -> List[Any]:
        return await self._c._run(admin.webhook_deliveries(endpoint_id))
