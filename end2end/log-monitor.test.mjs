// The org's own monitor of the relay's transparency log, on the dashboard
// (docs/web.md, "The log monitor"; docs/transparency.md §5): after redeeming,
// every dashboard page says the log was checked and holds nothing about the
// org it did not do; unlocking keys.zip checks the org's bundles too; the
// send page refuses a bundle the org replaced though the log holds it (the
// replica says what is current, the proofs alone cannot); a relay
// made dishonest by editing its database (A's number moved to B) is named on
// A's dashboard by the next visit, stays named across reloads and pages until
// a member dismisses it; a relay that rolls its log back is a loud error with
// both signed checkpoints. The tests run in order and build on each other.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { nav, rotateBundle, unlock } from './faxing.mjs';
import { checkKeysZip } from './keys-reader.mjs';
import { enrolAdmin, hydrated, launchBrowser, redeemInBrowser, screenshot, startRelay, unexpected } from './support.mjs';

const A_NUMBER = '+15550005001';
const B_NUMBER = '+15550006001';

let relay;
let browser;
let a; // A's admin: { person, keysPath, keys }
let b;
let firstCheckpoint; // a checkpoint note A's browser accepted early on

before(async () => {
  relay = await startRelay();
  browser = await launchBrowser();
});

after(async () => {
  await a?.person.close();
  await b?.person.close();
  await browser?.close();
  await relay?.stop();
});

/** Opens `pathname` and waits for the monitor's verdict; resolves to its state. */
async function monitorOn(page, pathname) {
  await page.goto(`${relay.baseUrl}${pathname}`);
  await hydrated(page);
  const line = page.locator('#log-monitor:not([data-state="checking"])');
  await line.waitFor({ timeout: 30_000 });
  return line.getAttribute('data-state');
}

/** Reloads the dashboard until the monitor shows `state` (the relay logs within its batch time). */
async function untilState(page, state, pathname = '/dashboard') {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const seen = await monitorOn(page, pathname);
    if (seen === state) return;
    assert.ok(Date.now() < deadline, `the monitor still says ${seen}, not ${state}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('after redeeming, the dashboard says the log was checked and holds nothing unexpected', async () => {
  a = await redeemInBrowser(relay, browser, { name: 'Clinic Mon A', number: A_NUMBER, email: 'admin@mon-a.example' });
  b = await redeemInBrowser(relay, browser, { name: 'Clinic Mon B', number: B_NUMBER, email: 'admin@mon-b.example' });
  a.keys = checkKeysZip(await readFile(a.keysPath));
  b.keys = checkKeysZip(await readFile(b.keysPath));
  await enrolAdmin(a.person);
  await enrolAdmin(b.person);
  const { page } = a.person;
  await untilState(page, 'ok');
  const text = await page.locator('#log-monitor').innerText();
  assert.match(text, /Transparency log checked \(\d+ entries\): nothing about your organization that it did not do\. Unlock your keys to check its bundles too\./);
  // The replica is kept: the next visit reads only what is new, and says the same.
  const kept = await page.evaluate(
    (org) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('fxe-log');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction('replicas').objectStore('replicas').get(org);
          get.onsuccess = () => resolve({ bytes: get.result?.entries?.length ?? 0, note: get.result?.note ?? '' });
          get.onerror = () => reject(get.error);
        };
      }),
    a.keys.orgId,
  );
  assert.ok(kept.bytes > 0, 'the replica is in IndexedDB');
  assert.match(kept.note, /\/fxe\/log\n\d+\n/);
  firstCheckpoint = kept.note;
  assert.equal(await monitorOn(page, '/dashboard/inbox'), 'ok');
  await screenshot(page, 'log-monitor-ok');
  assert.deepEqual(unexpected(a.person.problems), []);
});

test("the Keys page shows the pinned log policy's fingerprint, the one the operator gives with an invite", async () => {
  const { page } = a.person;
  const printed = await relay.cli(['invite', 'create', '--note', 'a fingerprint to compare']);
  const given = /Log: +transparency log policy fingerprint ([0-9a-f ]+)\n/.exec(printed)?.[1];
  assert.ok(given, printed);
  await page.goto(`${relay.baseUrl}/dashboard/keys`);
  await hydrated(page);
  const shown = await page.locator('#log-policy-fingerprint code').getAttribute('data-fingerprint', { timeout: 30_000 });
  assert.equal(shown, given.trim());
  assert.match(await page.locator('#log-policy').innerText(), /Witnesses\s+none: forks are caught only by members/);
  assert.deepEqual(unexpected(a.person.problems), []);
});

test("with the keys unlocked the monitor checks the org's bundles too", async () => {
  const { page } = a.person;
  await nav(page, 'Send');
  await unlock(page, a.keysPath);
  await page.waitForSelector('#log-monitor[data-state="ok"]');
  await page.waitForFunction(() => !document.querySelector('#log-monitor')?.textContent.includes('Unlock your keys'));
  assert.deepEqual(unexpected(a.person.problems), []);
});

/** RFC 6962 inclusion proof (leaf to root) of leaf `m` among `leaves` (leaf hashes). */
function inclusionPath(m, leaves) {
  const node = (l, r) => createHash('sha256').update(Buffer.concat([Buffer.from([1]), l, r])).digest();
  const split = (n) => 2 ** Math.floor(Math.log2(n - 1));
  const root = (hs) => (hs.length === 1 ? hs[0] : node(root(hs.slice(0, split(hs.length))), root(hs.slice(split(hs.length)))));
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...inclusionPath(m, leaves.slice(0, k)), root(leaves.slice(k))]
    : [...inclusionPath(m - k, leaves.slice(k)), root(leaves.slice(0, k))];
}

test("the send page refuses a bundle the org has replaced, though the log holds it", async () => {
  const { page } = a.person;
  const api = async (p) => {
    const res = await page.request.get(`${relay.baseUrl}/api/v1${p}`);
    assert.equal(res.status(), 200, p);
    return res;
  };
  const lookup = async () => (await api(`/directory/${encodeURIComponent(B_NUMBER)}`)).json();
  const before = await lookup();
  // B rotates: its old bundle stays in the log, a new one becomes current.
  const bp = b.person.page;
  await bp.goto(`${relay.baseUrl}/dashboard/keys`);
  await hydrated(bp);
  await unlock(bp, b.keysPath);
  b.keysPath = await rotateBundle(bp, 'clinic-mon-b-rotated.zip');
  let now = await lookup();
  for (const deadline = Date.now() + 20_000; now.bundle.bundle_id === before.bundle.bundle_id; now = await lookup()) {
    assert.ok(Date.now() < deadline, 'the directory still answers with the old bundle');
    await new Promise((r) => setTimeout(r, 300));
  }
  // A relay that wants A to seal to B's old bundle (say, its keys leaked) answers with it,
  // proven in the log under the relay's newest checkpoint: every proof checks.
  const size = Number(now.log.checkpoint.split('\n')[1]);
  assert.ok(size < 256, 'one partial hash tile holds the log');
  const tile = Buffer.from(await (await api(`/transparency/tile/0/000.p/${size}`)).body());
  const leaves = Array.from({ length: size }, (_, i) => tile.subarray(32 * i, 32 * (i + 1)));
  const moved = now.log.entries.findIndex((e, i) => e.index !== before.log.entries[i].index);
  assert.ok(moved >= 0, 'the bundle entry is the one that changed');
  const old = before.log.entries[moved];
  const forged = structuredClone(now);
  forged.bundle = before.bundle;
  forged.log.entries[moved] = { ...old, proof: inclusionPath(old.index, leaves).map((h) => h.toString('base64')) };
  const bPath = `**/api/v1/directory/${encodeURIComponent(B_NUMBER)}`;
  await page.route(bPath, (route) => route.fulfill({ status: 200, json: forged }));
  await page.goto(`${relay.baseUrl}/dashboard/send`);
  await hydrated(page);
  await page.fill('#send-to', B_NUMBER);
  await page.waitForSelector('#recipient-error');
  const said = await page.locator('#recipient-error').innerText();
  assert.match(said, new RegExp(`it is not what the transparency log holds now: .*the bundle offered \\(${before.bundle.bundle_id}\\) is not org ${b.keys.orgId}'s current logged bundle \\(${now.bundle.bundle_id}\\)`));
  assert.equal(await page.locator('#recipient-found').count(), 0);
  await screenshot(page, 'recipient-replaced-bundle');
  // The honest answer: B with its new bundle.
  await page.unroute(bPath);
  await page.fill('#send-to', '');
  await page.fill('#send-to', B_NUMBER);
  await page.waitForSelector('#recipient-found');
  assert.deepEqual(unexpected(a.person.problems), []);
});

test("a number the relay's database moves to another org is named on the owner's dashboard until dismissed", async () => {
  const { page } = a.person;
  // A dishonest relay: its database now routes A's number to B. The relay logs what its
  // tables say (or A's senders would refuse the answer), so A's monitor sees it. (The
  // change counter moves as the relay's own storage code would move it.)
  const db = path.join(relay.dataDir, 'fxe.db');
  await promisify(execFile)('python3', [
    '-c',
    'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], timeout=30)\nc.execute("UPDATE numbers SET org_id = ? WHERE number = ?", (sys.argv[2], sys.argv[3]))\nc.execute("UPDATE directory_version SET version = version + 1")\nc.commit()',
    db,
    b.keys.orgId,
    A_NUMBER,
  ]);
  await untilState(page, 'alert');
  const codes = await page.locator('#log-alerts li').evaluateAll((lis) => lis.map((li) => li.dataset.code));
  assert.deepEqual(codes, ['number_released', 'number_moved']);
  assert.match(await page.locator('#log-alerts').innerText(), new RegExp(`\\${A_NUMBER}, released from this org, was bound to org ${b.keys.orgId}`));
  await screenshot(page, 'log-monitor-alert');
  // The replica has moved past those entries: the alert is kept, on every dashboard page.
  assert.equal(await monitorOn(page, '/dashboard/numbers'), 'alert');
  assert.equal(await page.locator('#log-alerts li').count(), 2);
  // B's own monitor: a number bound to B that B never claimed is not something B's keys
  // say anything about; B's dashboard stays quiet about A's number.
  assert.equal(await monitorOn(b.person.page, '/dashboard'), 'ok');
  // Dismissed after reading: gone, and gone after a reload.
  await page.click('#log-dismiss');
  await page.waitForSelector('#log-monitor[data-state="ok"]');
  assert.equal(await monitorOn(page, '/dashboard'), 'ok');
  assert.deepEqual(unexpected(a.person.problems), []);
});

test('a relay that rolls its log back is refused loudly, with both signed checkpoints', async () => {
  const { page } = a.person;
  // The relay answers with the older checkpoint it signed earlier (a smaller tree).
  await page.route('**/api/v1/transparency/checkpoint', (route) =>
    route.fulfill({ status: 200, contentType: 'text/plain; charset=utf-8', body: firstCheckpoint }),
  );
  assert.equal(await monitorOn(page, '/dashboard'), 'broken');
  assert.match(await page.locator('#log-monitor').innerText(), /failed a check: the relay rolled its transparency log back/);
  await page.click('#log-monitor summary');
  assert.equal((await page.locator('#log-evidence-offered').innerText()).trim(), firstCheckpoint.trim());
  assert.notEqual((await page.locator('#log-evidence-seen').innerText()).trim(), firstCheckpoint.trim());
  await screenshot(page, 'log-monitor-rollback');
  // The honest relay again: the monitor is satisfied.
  await page.unroute('**/api/v1/transparency/checkpoint');
  assert.equal(await monitorOn(page, '/dashboard'), 'ok');
});
