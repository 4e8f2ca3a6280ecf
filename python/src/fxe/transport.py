"""Runs flows (:mod:`fxe.ops`) over HTTP: signing, timeouts, retries on
connection errors and on 429/503 honouring ``Retry-After``, an
``Idempotency-Key`` on every POST (the same on each retry), typed errors."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from typing import Any, AsyncIterator, Callable, Generic, Iterator, Optional

import anyio.to_thread
import httpx

from ._native import API_PREFIX
from .auth import UNSIGNED_PAYLOAD, Auth
from .errors import APIError, ConnectionError, FxeError, TimeoutError, error_for
from .ops import Call, Download, Flow, Op, Sleep, T, Upload, Work

#: What a retry may be tried again on: nothing reached the relay's handler.
RETRY_EXCEPTIONS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
RETRY_STATUSES = (429, 503)
PIECE = 1 << 20


def user_agent() -> str:
    from . import __version__

    return f"fxe-python/{__version__}"


class Policy:
    """Timeouts and retries shared by both runners."""

    def __init__(self, base_url: str, auths: Callable[[str], Auth], max_retries: int, max_retry_wait: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.auths = auths
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait

    def url(self, path: str) -> str:
        return f"{self.base_url}{API_PREFIX}{path}"

    def headers(self, method: str, idempotency_key: Optional[str], content_type: Optional[str]) -> dict[str, str]:
        h = {"User-Agent": user_agent(), "Accept": "application/json"}
        if content_type:
            h["Content-Type"] = content_type
        if method == "POST" and idempotency_key:
            h["Idempotency-Key"] = idempotency_key
        return h

    def delay(self, attempt: int, error: Optional[APIError]) -> Optional[float]:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if attempt >= self.max_retries:
            return None
        backoff = min(0.25 * (2**attempt), 8.0) * (0.8 + 0.4 * random.random())
        if error is not None and error.retry_after is not None:
            backoff = max(backoff, error.retry_after)
        return None if backoff > self.max_retry_wait else backoff

    def failed(self, attempt: int, e: httpx.TransportError, retryable: bool) -> float:
        """The wait before retrying after a transport error, or raises the typed error."""
        wait = self.delay(attempt, None) if retryable and isinstance(e, RETRY_EXCEPTIONS) else None
        if wait is not None:
            return wait
        if isinstance(e, httpx.TimeoutException):
            raise TimeoutError(f"the relay at {self.base_url} did not answer in time: {e!r}") from None
        raise ConnectionError(f"cannot reach the relay at {self.base_url}: {e!r}") from None

    def refused(self, attempt: int, resp: httpx.Response, body: bytes) -> float:
        """The wait before retrying a 429/503, or raises the typed error."""
        err = error_for(resp.status_code, body, resp.headers.get("retry-after"))
        wait = self.delay(attempt, err) if resp.status_code in RETRY_STATUSES else None
        if wait is None:
            raise err
        return wait

    def build(self, http: Any, op: Any, key: str, asynchronous: bool) -> httpx.Request:
        """The request for a Call or Upload (``http`` is either httpx client)."""
        if isinstance(op, Upload):
            h = self.headers("PUT", None, "application/octet-stream")
            h["Content-Length"] = str(op.length)
            h["X-FXE-Content-SHA256"] = UNSIGNED_PAYLOAD
            content: Any = (_apieces if asynchronous else _pieces)(op.file, op.length)
            return http.build_request("PUT", self.url(op.path), headers=h, content=content)  # type: ignore[no-any-return]
        ct = "application/json" if op.body is not None else None
        h = self.headers(op.method, key, ct)
        return http.build_request(op.method, self.url(op.path), headers=h, content=op.body)  # type: ignore[no-any-return]

    @staticmethod
    def decode(resp_text: bytes) -> Any:
        if not resp_text:
            return None
        try:
            return json.loads(resp_text)
        except ValueError as e:
            raise FxeError(f"unexpected answer from the relay: {e}") from None


def _pieces(file: Any, length: int) -> Iterator[bytes]:
    file.seek(0)
    left = length
    while left > 0:
        b = file.read(min(PIECE, left))
        if not b:
            raise FxeError("the sealed file ended early")
        left -= len(b)
        yield b


async def _apieces(file: Any, length: int) -> AsyncIterator[bytes]:
    for b in _pieces(file, length):
        yield b


class Driver(Generic[T]):
    """Steps a flow: gives it each operation's result (or error) and takes the next."""

    def __init__(self, flow: Flow[T]) -> None:
        self.flow = flow
        self.value: Any = None
        self.error: Optional[FxeError] = None
        self.result: T

    def next(self) -> Optional[Op]:
        """The next operation, or None when the flow returned (its value is ``result``)."""
        value, error, self.value, self.error = self.value, self.error, None, None
        try:
            op = self.flow.send(value) if error is None else self.flow.throw(error)
        except StopIteration as stop:
            self.result = stop.value
            return None
        return op


class SyncRunner:
    def __init__(self, http: httpx.Client, policy: Policy) -> None:
        self.http, self.p = http, policy

    def run(self, flow: Flow[T]) -> T:
        d = Driver(flow)
        try:
            while (op := d.next()) is not None:
                try:
                    d.value = self.step(op)
                except FxeError as e:
                    d.error = e
        finally:
            flow.close()  # anything else (Ctrl-C, a bug) still runs the flow's cleanup now
        return d.result

    def step(self, op: Op) -> Any:
        if isinstance(op, Work):
            return op.fn()
        if isinstance(op, Sleep):
            time.sleep(op.seconds)
            return None
        key, attempt = str(uuid.uuid4()), 0
        while True:
            try:
                if isinstance(op, Download):
                    with self.http.stream("GET", self.p.url(op.path), headers=self.p.headers("GET", None, None),
                                          auth=self.p.auths(op.scope)) as resp:
                        if resp.is_success:
                            for piece in resp.iter_bytes(PIECE):
                                op.sink(piece)
                            return None
                        wait = self.p.refused(attempt, resp, resp.read())
                else:
                    resp = self.http.send(self.p.build(self.http, op, key, False), auth=self.p.auths(op.scope))
                    body = resp.read()
                    resp.close()
                    if resp.is_success:
                        return self.p.decode(body)
                    wait = self.p.refused(attempt, resp, body)
            except httpx.TransportError as e:
                # A download is not retried once the sink saw part of the body.
                wait = self.p.failed(attempt, e, not isinstance(op, Download) or isinstance(e, httpx.ConnectError))
            time.sleep(wait)
            attempt += 1


class AsyncRunner:
    def __init__(self, http: httpx.AsyncClient, policy: Policy) -> None:
        self.http, self.p = http, policy

    async def run(self, flow: Flow[T]) -> T:
        d = Driver(flow)
        try:
            while (op := d.next()) is not None:
                try:
                    d.value = await self.step(op)
                except FxeError as e:
                    d.error = e
        finally:
            flow.close()  # cancellation or anything else still runs the flow's cleanup now
        return d.result

    async def step(self, op: Op) -> Any:
        if isinstance(op, Work):
            return await anyio.to_thread.run_sync(op.fn)
        if isinstance(op, Sleep):
            await asyncio.sleep(op.seconds)
            return None
        key, attempt = str(uuid.uuid4()), 0
        while True:
            try:
                if isinstance(op, Download):
                    async with self.http.stream("GET", self.p.url(op.path), headers=self.p.headers("GET", None, None),
                                                auth=self.p.auths(op.scope)) as resp:
                        if resp.is_success:
                            async for piece in resp.aiter_bytes(PIECE):
                                op.sink(piece)
                            return None
                        wait = self.p.refused(attempt, resp, await resp.aread())
                else:
                    resp = await self.http.send(self.p.build(self.http, op, key, True), auth=self.p.auths(op.scope))
                    body = await resp.aread()
                    await resp.aclose()
                    if resp.is_success:
                        return self.p.decode(body)
                    wait = self.p.refused(attempt, resp, body)
            except httpx.TransportError as e:
                wait = self.p.failed(attempt, e, not isinstance(op, Download) or isinstance(e, httpx.ConnectError))
            await asyncio.sleep(wait)
            attempt += 1
