// No fax lost, no fax sent twice, no fax blamed on its sender: two orgs (A
// and B) in their own browsers. A double click on Send sends one fax, and the
// same file to the same number again asks first. B opens a fax: it is kept
// in B's browser before the receipt, so Back, a reload and a new page reopen
// it after the relay deleted its copy, until B removes it. A non-PDF is not
// receipted until B chooses (keep it under its real type, or refuse it). A
// keys.zip older than A's current bundle is named and refuses nothing. The
// tests run in order and build on each other.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { STREAMED, downloadShown, makePdf, nav, openFromInbox, rotateBundle, send, sha256, unlock, watchPosts } from './faxing.mjs';
import { checkKeysZip } from './keys-reader.mjs';
import { enrolAdmin, hydrated, launchBrowser, redeemInBrowser, resultsDir, screenshot, startRelay, unexpected } from './support.mjs';

const A_NUMBER = '+15550005001';
const A_SHOWN = '+1 555 000 5001'; // as the pages show numbers (fxe_protocol::e164::display)
const B_NUMBER = '+15550006002';

let relay;
let browser;
let a; // { person, keysPath }
let b;
let kept; // { id, pdf } of the fax B opened and keeps

before(async () => {
  relay = await startRelay();
  browser = await launchBrowser();
  a = await redeemInBrowser(relay, browser, { name: 'Archive Clinic A', number: A_NUMBER, email: 'admin@archive-a.example' });
  b = await redeemInBrowser(relay, browser, { name: 'Archive Office B', number: B_NUMBER, email: 'admin@archive-b.example' });
  await enrolAdmin(a.person);
  await enrolAdmin(b.person);
});

after(async () => {
  await a?.person.close();
  await b?.person.close();
  await browser?.close();
  await relay?.stop();
});

/** The relay's answer status for the fax's ciphertext, asked from `page` (signed in). */
const contentStatus = (page, id) => page.evaluate(async (id) => (await fetch(`/api/v1/messages/${id}/content`)).status, id);

test('a double click sends one fax; the form starts afresh; the same file again asks first', async () => {
  const { page } = a.person;
  await nav(page, 'Send');
  await unlock(page, a.keysPath);
  const pdf = await makePdf('archive-double-click.pdf', 200_000);
  const posted = watchPosts(page, ['/api/v1/messages']);
  await page.fill('#send-to', B_NUMBER);
  await page.waitForSelector('#recipient-found', { timeout: 30_000 });
  await page.setInputFiles('#send-file', pdf.path);
  await page.waitForSelector('#send-submit:not([disabled])');
  await page.dblclick('#send-submit');
  await page.waitForSelector('#send-result, #send-error', { timeout: 120_000 });
  assert.equal(await page.locator('#send-error').count(), 0);
  // Sent: the number and the file are gone, so the button cannot send it again.
  assert.equal(await page.inputValue('#send-to'), '');
  assert.equal(await page.locator('#send-file-name').count(), 0);
  assert.equal(await page.isDisabled('#send-submit'), true);
  assert.deepEqual(posted, ['/api/v1/messages'], 'one fax was created');

  // The same file to the same number again: asked first, nothing sent until confirmed.
  await page.fill('#send-to', B_NUMBER);
  await page.waitForSelector('#recipient-found', { timeout: 30_000 });
  await page.setInputFiles('#send-file', pdf.path);
  await page.waitForSelector('#send-submit:not([disabled])');
  await page.click('#send-submit');
  await page.waitForSelector('#send-again');
  assert.match(await page.locator('#send-again').innerText(), /You sent this file to this number at .*Send it again\?/);
  await screenshot(page, 'archive-send-again');
  await page.click('#send-again-no');
  await page.waitForSelector('#send-again', { state: 'detached' });
  assert.deepEqual(posted, ['/api/v1/messages'], 'asking sent nothing');
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
  kept = { pdf };
});

test('B opens a fax; Back, a reload and a new page reopen it from this browser after the relay deleted it', async () => {
  const { page, context } = b.person;
  await nav(page, 'Inbox');
  const row = page.locator(`#messages tr:has-text("${A_SHOWN}")`).first();
  await row.waitFor({ timeout: 30_000 });
  kept.id = await row.getAttribute('data-message');
  await nav(page, 'Inbox');
  assert.equal(await openFromInbox(page, kept.id, b.keysPath), sha256(kept.pdf.bytes));
  await page.waitForSelector('#message[data-status="delivered"]');
  await page.waitForSelector('#fax-location[data-browser="kept"]');
  assert.match(await page.locator('#fax-on-relay').innerText(), /The relay has deleted its copy/);
  assert.equal(await contentStatus(page, kept.id), 410, 'the relay no longer has the ciphertext');
  const faxUrl = page.url();

  // Back: the keys are still unlocked in the tab, and the fax opens again from this browser.
  await nav(page, 'Inbox');
  await page.waitForSelector('#messages');
  await page.goBack();
  await page.waitForSelector('#fax-view', { timeout: 60_000 });
  assert.equal((await downloadShown(page)).sha, sha256(kept.pdf.bytes), 'Back reopens the fax');

  // Reload: the keys are gone with the page; unlocking them reopens the fax.
  await page.reload();
  await hydrated(page);
  await page.waitForSelector('#fax-location[data-browser="kept"]');
  await unlock(page, b.keysPath);
  await page.waitForSelector('#fax-view', { timeout: 60_000 });
  const reloaded = await downloadShown(page);
  assert.equal(reloaded.sha, sha256(kept.pdf.bytes), 'a reload reopens the fax');
  assert.match(reloaded.name, /\.pdf$/);

  // A new page (a closed tab, another day) in the same browser profile.
  const other = await context.newPage();
  try {
    await other.goto(faxUrl);
    await hydrated(other);
    await unlock(other, b.keysPath);
    await other.waitForSelector('#fax-view', { timeout: 60_000 });
    assert.equal((await downloadShown(other)).sha, sha256(kept.pdf.bytes), 'a new page reopens the fax');
    await screenshot(other, 'archive-reopened');
  } finally {
    await other.close();
  }
  assert.deepEqual(unexpected(b.person.problems, [STREAMED, /^HTTP 410: \/api\/v1\/messages\/[0-9a-f-]+\/content$/, /status of 410/]), []);
  b.person.problems.length = 0; // the 410 above was asked for
});

test('Remove from this browser forgets the fax, after a confirmation in the page', async () => {
  const { page } = b.person;
  await page.waitForSelector('#fax-location[data-browser="kept"]');
  await page.click('#remove-kept');
  await page.waitForSelector('#remove-kept-confirm');
  await page.click('#remove-kept-no');
  await page.waitForSelector('#remove-kept-confirm', { state: 'detached' });
  assert.equal(await page.locator('#fax-location').getAttribute('data-browser'), 'kept', 'Cancel keeps it');
  await page.click('#remove-kept');
  await page.click('#remove-kept-yes');
  await page.waitForSelector('#fax-location[data-browser="none"]');
  assert.equal(await page.locator('#fax-view').count(), 0, 'the opened fax is closed');
  assert.equal(await page.locator('#open-fax').count(), 0, 'nothing is left to open');
  await page.reload();
  await hydrated(page);
  await page.waitForSelector('#fax-location[data-browser="none"]');
  await screenshot(page, 'archive-removed');
  assert.deepEqual(unexpected(b.person.problems, [STREAMED]), []);
});

test('a non-PDF is not receipted until the person chooses: kept under its real type, or refused', async () => {
  const { page } = a.person;
  const text = path.join(resultsDir, 'archive-not-a-pdf.txt');
  await writeFile(text, 'hello, this is a text file, not a PDF\n');
  const sendText = async (file) => {
    await nav(page, 'Send');
    await page.fill('#send-to', B_NUMBER);
    await page.waitForSelector('#recipient-found', { timeout: 30_000 });
    await page.setInputFiles('#send-file', file);
    await page.check('#send-anyway');
    await page.waitForSelector('#send-submit:not([disabled])');
    await page.click('#send-submit');
    await page.waitForSelector('#send-result', { timeout: 120_000 });
    return (await page.locator('#send-result a').getAttribute('href')).split('/').pop();
  };
  const keptId = await sendText(text);
  const png = path.join(resultsDir, 'archive-not-a-pdf.png');
  await writeFile(png, Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
  const refusedId = await sendText(png);

  const bp = b.person.page;
  const posted = watchPosts(bp, ['/receipt', '/reject']);
  const openOnly = async (id) => {
    await nav(bp, 'Inbox');
    await bp.waitForSelector(`#messages tr[data-message="${id}"]`, { timeout: 30_000 });
    await bp.click(`#messages tr[data-message="${id}"] a`);
    await unlock(bp, b.keysPath);
    await bp.click('#open-fax:not([disabled])');
    await bp.waitForSelector('#not-a-pdf, #fax-view, #open-error', { timeout: 60_000 });
    assert.equal(await bp.locator('#fax-view').count(), 0, 'not shown in the PDF viewer');
    assert.equal(await bp.locator('#message').getAttribute('data-status'), 'queued');
  };
  await openOnly(keptId);
  assert.match(await bp.locator('#not-a-pdf-text').innerText(), /not a PDF: it is plain text/);
  assert.deepEqual(posted, [], 'no receipt before the person chooses');
  await bp.click('#keep-file');
  await bp.waitForSelector('#receipt-sent');
  assert.equal(await bp.locator('#fax-file').getAttribute('data-mime'), 'text/plain');
  const saved = await downloadShown(bp);
  assert.match(saved.name, /\.txt$/);
  assert.equal(saved.sha, sha256(await readFile(text)));
  await bp.waitForSelector('#message[data-status="delivered"]');

  await openOnly(refusedId);
  assert.match(await bp.locator('#not-a-pdf-text').innerText(), /not a PDF: it is a PNG image/);
  await bp.click('#refuse-not-pdf');
  await bp.click('#refuse-not-pdf-yes');
  await bp.waitForSelector('#fax-refused');
  await bp.waitForSelector('#message[data-status="rejected"]');
  assert.match(await bp.locator('#timeline').innerText(), /Refused by the recipient: not_a_pdf/);
  await bp.waitForSelector('#fax-location[data-browser="none"]'); // a refused fax is not kept
  assert.equal(await bp.locator('#open-fax').count(), 0);
  assert.equal(posted.length, 2, 'one receipt (kept) and one refusal');
  await screenshot(bp, 'archive-not-a-pdf-refused');
  assert.deepEqual(unexpected(b.person.problems, [STREAMED]), []);
});

test('a keys.zip older than the current bundle is named, and no refusal is sent', async () => {
  // A rotates: the new keys.zip (with the old bundle) is saved, then published.
  const { page } = a.person;
  await nav(page, 'Keys');
  await unlock(page, a.keysPath);
  const currentKeys = await rotateBundle(page, 'archive-a-keys-rotated.zip');
  const oldIds = checkKeysZip(await readFile(a.keysPath)).bundleIds;
  const newId = checkKeysZip(await readFile(currentKeys)).bundleIds.find((id) => !oldIds.includes(id));

  // B sends A a fax, sealed to the new bundle.
  const bp = b.person.page;
  await nav(bp, 'Send');
  const fax = await makePdf('archive-to-new-bundle.pdf', 150_000);
  const id = await send(bp, A_NUMBER, fax.path);

  // A, in a fresh page load, unlocks the old keys.zip.
  const posted = watchPosts(page, ['/receipt', '/reject']);
  await page.goto(`${relay.baseUrl}/dashboard/messages/${id}`);
  await hydrated(page);
  await unlock(page, a.keysPath);
  await page.waitForSelector('#fax-keys-stale');
  const said = await page.locator('#fax-keys-stale').innerText();
  assert.ok(said.includes(newId), `the bundle is named: ${said}`);
  assert.match(said, /your keys\.zip is older .*Unlock the current keys\.zip/);
  assert.equal(await page.isDisabled('#open-fax'), true);
  assert.equal(await page.locator('#message').getAttribute('data-status'), 'queued', 'the fax is left waiting');
  await screenshot(page, 'archive-stale-keys');

  // The current keys.zip opens it.
  await page.click('#lock-keys');
  await unlock(page, currentKeys);
  await page.waitForSelector('#fax-keys-stale', { state: 'detached' });
  await page.click('#open-fax');
  await page.waitForSelector('#fax-view', { timeout: 60_000 });
  await page.waitForSelector('#receipt-sent');
  assert.equal((await downloadShown(page)).sha, sha256(fax.bytes));
  assert.deepEqual(posted.map((p) => p.split('/').pop()), ['receipt'], 'a receipt, never a refusal');
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
  assert.deepEqual(unexpected(b.person.problems, [STREAMED]), []);
});
