"""Send, receive and receipts against the real relay, sync and async."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

import fxe
from conftest import Org, Orgs, pdf_bytes, received_until


def test_send_receive_receipt_bytes_identical(pair: tuple[Org, Org], tmp_path: Path) -> None:
    a, b = pair
    fax = pdf_bytes(2_500_000)  # three chunks
    with a.client() as ca, b.client() as cb:
        org = ca.lookup("+1 (555) " + b.number[5:8] + "-" + b.number[8:])
        assert org is not None and org.org_id == b.org_id
        assert org.fingerprint == b.fingerprint and org.first_contact
        assert (a.dir / "fxe-pins.json").is_file(), "pins are kept next to keys.zip, as the CLI does"
        again = ca.lookup(b.number)
        assert again is not None and not again.first_contact

        sent = ca.send(to=b.number, from_=a.number, file=fax, from_name="Front desk")
        assert sent.status == "queued" and sent.recipient.org_id == b.org_id

        files = received_until(cb, tmp_path / "in", 1)
        assert files == [tmp_path / "in" / f"{sent.message_id}.pdf"]
        assert files[0].read_bytes() == fax

        d = ca.status(sent.message_id)
        assert d.delivered and d.verified and d.received_at
        assert cb.status(sent.message_id).status == "delivered"
        out = list(ca.messages.list("outbox"))
        assert out[0].message_id == sent.message_id and out[0].from_name == "Front desk"
        assert [m.message_id for m in cb.messages.list("inbox", status="delivered")] == [sent.message_id]
        assert list(cb.messages.list("inbox", status="queued")) == []

        # The polling feed: oldest change first, from a time on; pages of one message each.
        second = ca.send(to=b.number, from_=a.number, file=fax[:1000])
        feed = list(cb.messages.list("inbox", updated_since="2000-01-01T00:00:00Z", limit=1))
        assert [m.message_id for m in feed] == [sent.message_id, second.message_id]
        assert [m.status for m in feed] == ["delivered", "queued"]
        received_until(cb, tmp_path / "in", 2)

        # Receiving again writes nothing new.
        assert cb.receive(tmp_path / "in") == []
        assert len(list((tmp_path / "in").glob("*.pdf"))) == 2


def test_send_waits_for_the_verified_receipt_and_accepts_file_objects(pair: tuple[Org, Org], tmp_path: Path) -> None:
    a, b = pair
    fax = pdf_bytes(300_000, seed=2)
    path = tmp_path / "scan.pdf"
    path.write_bytes(fax)
    with a.client() as ca, b.client() as cb:
        sent = ca.send(to=b.number, from_=a.number, file=path)
        with open(path, "rb") as f:
            second = ca.send(to=b.number, from_=a.number, file=f)
        files = received_until(cb, tmp_path / "in", 2)
        assert sorted(p.read_bytes() for p in files) == [fax, fax]
        for m in (sent, second):
            assert ca.status(m.message_id).delivered


def test_echo_number_sends_the_same_pdf_back(orgs: Orgs, tmp_path: Path) -> None:
    a = orgs.new("Echo tester")
    fax = pdf_bytes(1_200_000, seed=3)
    with a.client() as ca:
        sent = ca.send(to="+10000000000", from_=a.number, file=fax, wait=True, timeout=120)
        assert sent.delivery is not None and sent.delivery.delivered, sent
        files = received_until(ca, tmp_path / "echo", 1)
        assert files[0].read_bytes() == fax
        back = ca.messages.list("inbox", status="delivered")
        assert next(iter(back)).from_number == "+10000000000"


def test_async_client_same_flows(pair: tuple[Org, Org], tmp_path: Path) -> None:
    a, b = pair
    fax = pdf_bytes(1_500_000, seed=4)

    async def main() -> None:
        async with a.async_client() as ca, b.async_client() as cb:
            org = await ca.lookup(b.number)
            assert org is not None and org.org_id == b.org_id
            assert await ca.lookup("+15559999999") is None
            sent = await ca.send(to=b.number, from_=a.number, file=io.BytesIO(fax))
            got = []
            for _ in range(100):
                got += await cb.receive(tmp_path / "async")
                if got:
                    break
                await asyncio.sleep(0.2)
            assert [r.event for r in got] == ["received"]
            assert got[0].path is not None and got[0].path.read_bytes() == fax
            assert (await ca.status(sent.message_id)).delivered
            ids = [m.message_id async for m in ca.messages.list("outbox")]
            assert ids == [sent.message_id]
            assert (await ca.messages.get(sent.message_id)).status == "delivered"
            assert (await ca.org())["org_id"] == a.org_id
            assert [k.key_id for k in await ca.api_keys.list()] == [k[0] for k in ca.keys.api_keys]
            assert await cb.webhooks.list() == []

    asyncio.run(main())


def test_not_on_network_is_the_pstn_fallback_signal(pair: tuple[Org, Org]) -> None:
    a, _ = pair
    with a.client() as ca:
        assert ca.lookup("+15559999999") is None
        with pytest.raises(fxe.NotOnNetworkError):
            ca.send(to="+15559999999", from_=a.number, file=pdf_bytes(1000))
        with pytest.raises(fxe.InvalidInputError) as e:
            ca.lookup("not a number")
        assert e.value.code == "invalid_number"


def test_images_are_converted_to_pdf(pair: tuple[Org, Org], tmp_path: Path) -> None:
    from PIL import Image

    a, b = pair
    img = Image.new("L", (200, 300), color=255)
    for fmt, name in (("PNG", "page.png"), ("TIFF", "page.tif"), ("JPEG", "page.jpg")):
        img.save(tmp_path / name, fmt)
    with a.client() as ca, b.client() as cb:
        for name in ("page.png", "page.tif", "page.jpg"):
            ca.send(to=b.number, from_=a.number, file=tmp_path / name)
        with pytest.raises(fxe.InvalidInputError) as e:
            ca.send(to=b.number, from_=a.number, file=b"just text")
        assert e.value.code == "not_a_pdf"
        files = received_until(cb, tmp_path / "in", 3)
        assert all(p.read_bytes().startswith(b"%PDF-") for p in files)


def test_reject_sends_a_signed_refusal(pair: tuple[Org, Org]) -> None:
    a, b = pair
    with a.client() as ca, b.client() as cb:
        sent = ca.send(to=b.number, from_=a.number, file=pdf_bytes(5000))
        m = cb.reject(sent.message_id, "policy")
        assert m.status == "rejected"
        d = ca.status(sent.message_id)
        assert d.status == "rejected" and d.verified and d.reason == "policy"
        with pytest.raises(fxe.InvalidInputError):
            cb.reject(sent.message_id, "because")
