// Proofs of delivery in the browser (docs/proof.md, docs/web.md): two orgs
// (A and B) in their own browsers. A sends B a PDF and B opens it; both fax
// pages say a proof is available, and both download one with the document
// (B unwraps the content key again, A's tab kept it when it sent the fax).
// /verify, in a browser nobody signed in to and offline once loaded, tells
// the statement of `fxe-client proof verify` (with the PDF: its SHA-256),
// and names the one check a tampered proof or a wrong PDF fails. A proof
// saved by the browser verifies with `fxe-client proof verify`. A refused
// fax has a proof of refusal. The tests run in order and build on each other.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { STREAMED, makePdf, nav, openFromInbox, send, sha256, unlock } from './faxing.mjs';
import { checkKeysZip } from './keys-reader.mjs';
import { enrolAdmin, hydrated, launchBrowser, newPerson, redeemInBrowser, resultsDir, root, screenshot, startRelay, unexpected } from './support.mjs';

const A_NUMBER = '+15550007001';
const B_NUMBER = '+15550008002';
const clientBin = process.env.FXE_CLIENT_BIN ?? path.join(root, 'target', 'debug', 'fxe-client');

let relay;
let browser;
let a; // { person, keysPath, keys }
let b;
let pdf; // the fax A sends B
let id; // its message id
let fromB; // path of the proof B saved (with the document)
let fromA; // path of the proof A saved (with the document)
let verifier; // a person who never signed in, on /verify

before(async () => {
  relay = await startRelay();
  browser = await launchBrowser();
  a = await redeemInBrowser(relay, browser, { name: 'Proof Clinic A', number: A_NUMBER, email: 'admin@proof-a.example' });
  b = await redeemInBrowser(relay, browser, { name: 'Proof Office B', number: B_NUMBER, email: 'admin@proof-b.example' });
  a.keys = checkKeysZip(await readFile(a.keysPath));
  b.keys = checkKeysZip(await readFile(b.keysPath));
  await enrolAdmin(a.person);
  await enrolAdmin(b.person);
});

after(async () => {
  await verifier?.close();
  await a?.person.close();
  await b?.person.close();
  await browser?.close();
  await relay?.stop();
});

/** Clicks Download proof (after ticking With the document when asked); resolves to the saved file's path. */
async function downloadProof(page, name, { withDocument }) {
  await page.waitForSelector('#proof-available', { timeout: 60_000 });
  if (withDocument) await page.check('#proof-with-document');
  else await page.uncheck('#proof-with-document');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-proof')]);
  await page.waitForSelector('#proof-saved, #proof-error');
  if ((await page.locator('#proof-error').count()) > 0) assert.fail(await page.locator('#proof-error').innerText());
  assert.match(download.suggestedFilename(), /^fax-[0-9a-f-]{36}\.fxeproof$/);
  const file = path.join(resultsDir, name);
  await download.saveAs(file);
  return file;
}

/** Gives /verify the proof (and the document, or removes it): resolves to `{ state, text, check }`. */
async function verifyInPage(page, proofPath, documentPath) {
  // Each choice is checked on its own; wait for its verdict before the next (`data-checks` counts them).
  const step = async (action) => {
    const before = Number(await page.getAttribute('#verify', 'data-checks'));
    await action();
    await page.waitForFunction((n) => Number(document.querySelector('#verify').dataset.checks) > n, before, { timeout: 60_000 });
  };
  await step(() => page.setInputFiles('#verify-proof', proofPath));
  if (documentPath) await step(() => page.setInputFiles('#verify-document', documentPath));
  else if ((await page.locator('#verify-document-remove').count()) > 0) await step(() => page.click('#verify-document-remove'));
  const state = await page.getAttribute('#verify', 'data-state');
  if (state === 'verified') return { state, text: await page.locator('#verify-statement').innerText() };
  if (state === 'failed') {
    return { state, text: await page.locator('#verify-failure').innerText(), check: await page.getAttribute('#verify-failure', 'data-check') };
  }
  return { state, text: await page.locator('#verify-unreadable').innerText() };
}

/** Writes `proof` changed by `change` next to the results; resolves to its path. */
async function tampered(name, proofPath, change) {
  const p = JSON.parse(await readFile(proofPath, 'utf8'));
  change(p);
  const file = path.join(resultsDir, name);
  await writeFile(file, JSON.stringify(p, null, 2));
  return file;
}

test('A sends B a PDF, B opens it: B downloads a proof of delivery with the document', async () => {
  const { page } = a.person;
  await nav(page, 'Send');
  await unlock(page, a.keysPath);
  pdf = await makePdf('proof-fax.pdf', 70_000);
  await page.fill('#send-name', 'Proof Clinic front desk');
  id = await send(page, B_NUMBER, pdf.path, { expectOrg: 'Proof Office B' });

  const bp = b.person.page;
  await nav(bp, 'Inbox');
  assert.equal(await openFromInbox(bp, id, b.keysPath), sha256(pdf.bytes));
  await bp.waitForSelector('#message[data-status="delivered"]');
  assert.match(await bp.locator('#proof-available').innerText(), /^Proof available/);
  assert.match(await bp.locator('#verify-link').getAttribute('href'), /^\/verify$/);
  fromB = await downloadProof(bp, 'proof-from-b.fxeproof', { withDocument: true });
  const saved = JSON.parse(await readFile(fromB, 'utf8'));
  assert.equal(saved.format, 'fxe-proof/v1');
  assert.equal(saved.envelope.message_id, id);
  assert.ok(saved.receipt && saved.refusal === null, 'a receipt, no refusal');
  assert.match(saved.opening?.cek ?? '', /^[A-Za-z0-9_-]{43}$/, 'the content key is disclosed');
  assert.match(await bp.locator('#proof-disclosure').innerText(), /decrypts this one fax and nothing else/);
  await screenshot(bp, 'proof-recipient');
  assert.deepEqual(unexpected(b.person.problems, [STREAMED]), []);
});

test("A's page of the delivered fax: proof available, with the document from the key A's tab kept; the size as in the outbox", async () => {
  const { page } = a.person;
  await page.goto(`${relay.baseUrl}/dashboard/messages/${id}`);
  await hydrated(page);
  await page.waitForSelector('#message[data-status="delivered"]', { timeout: 60_000 });
  assert.match(await page.locator('#proof-title').innerText(), /Proof of delivery/);
  assert.equal(await page.locator('#proof-no-key').count(), 0, 'this browser kept the content key');
  // Without the keys unlocked (a full page load dropped them): the sender's proof needs none.
  assert.equal(await page.locator('#keys-unlocked').count(), 0);
  fromA = await downloadProof(page, 'proof-from-a.fxeproof', { withDocument: true });
  const saved = JSON.parse(await readFile(fromA, 'utf8'));
  assert.equal(saved.opening.cek, JSON.parse(await readFile(fromB, 'utf8')).opening.cek, 'the same content key');
  const without = await downloadProof(page, 'proof-from-a-no-document.fxeproof', { withDocument: false });
  assert.equal(JSON.parse(await readFile(without, 'utf8')).opening, null);
  // The key is kept in this browser only, per org.
  const kept = await page.evaluate((org) => localStorage.getItem(`fxe-sent-keys/${org}`), a.keys.orgId);
  assert.ok(JSON.parse(kept).some((r) => r.message_id === id));
  await screenshot(page, 'proof-sender');
  // The fax's page and the outbox give the same size, by the same name.
  const shown = await page.locator('#fax-size').innerText();
  assert.equal(shown, '70 kB sealed');
  await page.goto(`${relay.baseUrl}/dashboard/outbox`);
  await hydrated(page);
  await page.waitForSelector(`#messages tr[data-message="${id}"]`);
  assert.equal(await page.locator(`#messages tr[data-message="${id}"] .fax-size`).innerText(), shown);
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
});

test('/verify, signed out and offline: the statement, and with the PDF its SHA-256', async () => {
  verifier = await newPerson(browser, relay.baseUrl);
  const { page, context } = verifier;
  await page.goto(`${relay.baseUrl}/verify`);
  await hydrated(page);
  assert.equal(new URL(page.url()).pathname, '/verify', 'no sign-in asked for');
  await context.setOffline(true);
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));

  const plain = await verifyInPage(page, fromB);
  assert.equal(plain.state, 'verified', plain.text);
  const env = JSON.parse(await readFile(fromB, 'utf8')).envelope;
  assert.match(plain.text, new RegExp(`VERIFIED: the organization below signed that it received fax ${id}\\.`));
  assert.ok(plain.text.includes(`org ${env.recipient_org_id}`) && plain.text.includes(`fingerprint ${b.keys.fingerprint}`), plain.text);
  assert.ok(plain.text.includes(`org ${env.sender_org_id}`) && plain.text.includes(`fingerprint ${a.keys.fingerprint}`), plain.text);
  assert.ok(plain.text.includes(`${A_NUMBER} ("Proof Clinic front desk")`), plain.text);
  assert.match(plain.text, new RegExp(`to number: +\\${B_NUMBER}\n`));
  assert.match(plain.text, /sent at: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(sender's clock\)/);
  assert.match(plain.text, /received at: +\S+ \(recipient's clock\)/);
  assert.match(plain.text, /document: +not checked \(give the PDF to check it\)/);

  const withPdf = await verifyInPage(page, fromA, pdf.path);
  assert.equal(withPdf.state, 'verified', withPdf.text);
  assert.ok(withPdf.text.includes(`SHA-256 ${sha256(pdf.bytes)} (70000 bytes)`), withPdf.text);
  await screenshot(page, 'verify-with-pdf');

  // Another PDF of another length, then of the same length: not the fax.
  const other = await makePdf('proof-other.pdf', 70_001);
  assert.deepEqual((await verifyInPage(page, fromA, other.path)).check, 'document_length');
  const twin = await makePdf('proof-twin.pdf', 70_000);
  const wrong = await verifyInPage(page, fromA, twin.path);
  assert.equal(wrong.check, 'document_hash');
  assert.match(wrong.text, /check document_hash failed: the document is not the fax/);
  // A proof without the content key cannot tie a document to the fax.
  const without = path.join(resultsDir, 'proof-from-a-no-document.fxeproof');
  assert.equal((await verifyInPage(page, without, pdf.path)).check, 'no_opening');
  const noDoc = await verifyInPage(page, without);
  assert.equal(noDoc.state, 'verified');
  assert.match(noDoc.text, /the proof has no content key: it shows that a fax of 70000 bytes was received, not which document/);
  assert.deepEqual(requests, [], 'the page asked the network for nothing');
  assert.deepEqual(unexpected(verifier.problems), []);
});

test('/verify refuses a tampered proof and names the check it fails', async () => {
  const { page } = verifier;
  const cases = [
    ['envelope_signature', (p) => (p.envelope.from_name = 'Someone Else')],
    ['outcome_signature', (p) => (p.receipt.received_at += 1)],
    ['cek_commit', (p) => (p.opening.cek = `${p.opening.cek[0] === 'A' ? 'B' : 'A'}${p.opening.cek.slice(1)}`)],
    ['recipient_org_id', (p) => (p.recipient.identity_pub = p.sender.identity_pub)],
    ['unsupported_format', (p) => (p.format = 'fxe-proof/v9')],
  ];
  for (const [check, change] of cases) {
    const file = await tampered(`proof-tampered-${check}.fxeproof`, fromB, change);
    const got = await verifyInPage(page, file);
    assert.equal(got.state, 'failed', `${check}: ${got.text}`);
    assert.equal(got.check, check);
    assert.ok(got.text.includes(`check ${check} failed`), got.text);
  }
  const garbage = path.join(resultsDir, 'proof-garbage.fxeproof');
  await writeFile(garbage, '{"format": "fxe-proof/v1", "envelope": ');
  const bad = await verifyInPage(page, garbage);
  assert.equal(bad.check, 'malformed');
  assert.match(bad.text, /^This is not a valid proof file/);
  await screenshot(page, 'verify-tampered');
  assert.deepEqual(unexpected(verifier.problems), []);
});

test('a proof saved by the browser verifies with fxe-client proof verify, with the PDF', async () => {
  const { stdout } = await promisify(execFile)(clientBin, ['proof', 'verify', fromA, '--document', pdf.path, '--json']);
  const out = JSON.parse(stdout);
  assert.equal(out.verified, true);
  assert.equal(out.statement.message_id, id);
  assert.equal(out.statement.document_sha256, sha256(pdf.bytes));
  assert.equal(out.statement.sender.fingerprint, a.keys.fingerprint);
  assert.equal(out.statement.recipient.fingerprint, b.keys.fingerprint);
  // And a tampered one fails there with the same check as in the page.
  const file = path.join(resultsDir, 'proof-tampered-outcome_signature.fxeproof');
  await assert.rejects(promisify(execFile)(clientBin, ['proof', 'verify', file]), (e) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /outcome_signature/);
    return true;
  });
});

test('a refused fax has a proof of refusal, verified on /verify', async () => {
  const { page } = a.person;
  await nav(page, 'Send');
  await unlock(page, a.keysPath);
  const refusedPdf = await makePdf('proof-refused.pdf', 20_000);
  const refusedId = await send(page, B_NUMBER, refusedPdf.path);

  const bp = b.person.page;
  await bp.goto(`${relay.baseUrl}/dashboard/messages/${refusedId}`);
  await hydrated(bp);
  await unlock(bp, b.keysPath);
  await bp.click('#refuse-details summary');
  await bp.selectOption('#refuse-reason', 'policy');
  await bp.click('#refuse-fax');
  await bp.click('#refuse-fax-yes');
  await bp.waitForSelector('#message[data-status="rejected"]', { timeout: 60_000 });
  assert.match(await bp.locator('#proof-title').innerText(), /Proof of refusal/);
  const fromRefusing = await downloadProof(bp, 'proof-refused-b.fxeproof', { withDocument: false });
  // After a reload the keys are locked and the refused fax is not kept here: the proof card asks for them itself.
  await bp.reload();
  await hydrated(bp);
  await bp.waitForSelector('#message[data-status="rejected"]');
  assert.equal(await bp.locator('#keys-file').count(), 0, 'no keys panel until the document is asked for');
  await bp.check('#proof-with-document');
  await bp.setInputFiles('#proof #keys-file', b.keysPath);
  await bp.waitForSelector('#proof #keys-unlocked');
  const refusedWithDocument = await downloadProof(bp, 'proof-refused-b-document.fxeproof', { withDocument: true });
  assert.ok(JSON.parse(await readFile(refusedWithDocument, 'utf8')).opening, 'the recipient unwrapped the content key');

  await page.goto(`${relay.baseUrl}/dashboard/messages/${refusedId}`);
  await hydrated(page);
  await page.waitForSelector('#message[data-status="rejected"]', { timeout: 60_000 });
  const fromSender = await downloadProof(page, 'proof-refused-a.fxeproof', { withDocument: true });

  const vp = verifier.page;
  for (const [file, doc] of [[fromRefusing, undefined], [fromSender, refusedPdf.path], [refusedWithDocument, refusedPdf.path]]) {
    const got = await verifyInPage(vp, file, doc);
    assert.equal(got.state, 'verified', got.text);
    assert.match(got.text, new RegExp(`signed that it refused fax ${refusedId}\\.`));
    assert.match(got.text, /reason: +policy/);
  }
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
  assert.deepEqual(unexpected(b.person.problems, [STREAMED]), []);
});
