// Faxing through the web UI, shared by the browser tests: PDFs to send, the
// dashboard's navigation, unlocking keys.zip, rotating the bundle, sending
// and opening a fax.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { resultsDir, screenshot } from './support.mjs';

/**
 * Chromium reports a download read to its end through a stream reader as aborted (net::ERR_ABORTED) once the
 * reader is done with it; the fax's bytes are all there (their hash is checked before anything is shown).
 */
export const STREAMED = /^request failed: .*\/api\/v1\/messages\/[0-9a-f-]+\/content \(net::ERR_ABORTED\)$/;

export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** A PDF-looking file of `size` bytes (random body), written to the results folder. */
export async function makePdf(name, size) {
  const head = Buffer.from('%PDF-1.7\n%fxe test fax\n');
  const bytes = Buffer.concat([head, randomBytes(size - head.length)]);
  const file = path.join(resultsDir, name);
  await writeFile(file, bytes);
  return { path: file, bytes };
}

/** Moves inside the dashboard by its navigation (keys unlocked in the tab stay unlocked). */
export async function nav(page, name) {
  await page.click(`.dashboard-nav a:has-text("${name}")`);
}

/** Unlocks keys.zip on the current dashboard page. */
export async function unlock(page, keysPath) {
  await page.waitForSelector('#keys-file, #keys-unlocked', { state: 'attached' });
  if ((await page.locator('#keys-unlocked').count()) === 0) {
    await page.setInputFiles('#keys-file', keysPath);
    await page.waitForSelector('#keys-unlocked');
  }
}

/**
 * Rotates the org's bundle on the Keys page (keys unlocked): saves the new keys.zip (the old bundle kept) as `name`
 * in the results folder, then publishes the new bundle; resolves to the saved file's path.
 */
export async function rotateBundle(page, name) {
  await page.click('#rotate-bundle');
  await page.waitForSelector('#publish-bundle');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#rotated-keys-save')]);
  const saved = path.join(resultsDir, name);
  await download.saveAs(saved);
  await page.click('#publish-bundle');
  await page.waitForSelector('#bundle-published');
  return saved;
}

/** Seals and sends `file` to `number` from the Send page; resolves to the message id. */
export async function send(page, number, file, { expectOrg } = {}) {
  await page.fill('#send-to', number);
  await page.waitForSelector('#recipient-found', { timeout: 30_000 });
  if (expectOrg) assert.equal(await page.locator('#recipient-org').innerText(), expectOrg);
  await page.setInputFiles('#send-file', file);
  await page.waitForSelector('#send-file-name');
  await page.waitForSelector('#send-submit:not([disabled])');
  const started = Date.now();
  await page.click('#send-submit');
  await page.waitForSelector('#send-result, #send-error', { timeout: 120_000 }).catch(async (e) => {
    await screenshot(page, 'send-stuck');
    throw new Error(`${e.message}\nthe page shows: ${await page.locator('main').innerText()}`);
  });
  if ((await page.locator('#send-error').count()) > 0) assert.fail(await page.locator('#send-error').innerText());
  console.log(`sealed and sent ${path.basename(file)} in ${Date.now() - started} ms`);
  const href = await page.locator('#send-result a').getAttribute('href');
  return href.split('/').pop();
}

/**
 * Opens fax `id` from the inbox page (which refreshes itself), unlocking `keysPath` on the fax's page if the tab
 * holds no keys; resolves to the SHA-256 of what is shown.
 */
export async function openFromInbox(page, id, keysPath) {
  await page.waitForSelector(`#messages tr[data-message="${id}"]`, { timeout: 30_000 });
  await page.click(`#messages tr[data-message="${id}"] a`);
  await page.waitForSelector('#open-fax');
  await unlock(page, keysPath);
  await page.waitForSelector('#open-fax:not([disabled])');
  const started = Date.now();
  await page.click('#open-fax');
  await page.waitForSelector('#fax-view, #fax-refused, #open-error', { timeout: 120_000 }).catch(async (e) => {
    await screenshot(page, `open-stuck-${id}`);
    throw new Error(`${e.message}\nthe page shows: ${await page.locator('main').innerText()}`);
  });
  if ((await page.locator('#fax-view').count()) === 0) assert.fail(await page.locator('#fax-refused, #open-error').innerText());
  await page.waitForSelector('#receipt-sent');
  console.log(`opened ${id} in ${Date.now() - started} ms`);
  const src = await page.getAttribute('#fax-view', 'src');
  assert.match(src, /^blob:/);
  // The page may not fetch a Blob URL (CSP connect-src 'self'): the bytes are the download of the same URL.
  assert.equal(await page.getAttribute('#fax-download', 'href'), src, 'the download is the PDF shown');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#fax-download')]);
  return sha256(await readFile(await download.path()));
}


/** Clicks the fax page's Download; resolves to `{ sha, name }` of the file saved. */
export async function downloadShown(page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#fax-download')]);
  return { sha: sha256(await readFile(await download.path())), name: download.suggestedFilename() };
}

/** Records the paths of the POST requests `page` makes that end with one of `suffixes`. */
export function watchPosts(page, suffixes) {
  const posted = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && suffixes.some((s) => new URL(r.url()).pathname.endsWith(s))) posted.push(new URL(r.url()).pathname);
  });
  return posted;
}
