// Keys in the browser (issue 15, items 5 and 6), in Chromium with a virtual
// authenticator that has the WebAuthn PRF extension: a reload in the middle of
// a redemption resumes it (keys.zip saved before anything is registered; the
// retry gets a new setup link) and the operator sees the org never signed in
// until then; "Remember keys on this device" lets a new session unlock with
// the passkey alone, and "Forget" ends that; an authenticator without PRF
// stays with keys.zip; an admin saves a staff keys.zip (no identity secret,
// no API keys) with which a teammate opens a fax; an out-of-date keys.zip is
// flagged at unlock. The tests run in order and build on each other.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkKeysZip, unzip } from './keys-reader.mjs';
import { rotateBundle } from './faxing.mjs';
import { enrolAdmin, hydrated, landsOn, launchBrowser, newPerson, register, resultsDir, screenshot, startRelay, unexpected } from './support.mjs';

const NUMBER = '+15550007001';
const ECHO = '+10000000000';
const NAME = 'Resume Clinic';

let relay;
let browser;
let admin; // the admin's browser
let keysPath; // the keys.zip saved at redemption
let keys; // what the independent reader found in it

before(async () => {
  relay = await startRelay();
  browser = await launchBrowser();
});

after(async () => {
  await admin?.close();
  await browser?.close();
  await relay?.stop();
});

async function orgListed() {
  return JSON.parse(await relay.cli(['org', 'list', '--json'])).find((o) => o.org_name === NAME);
}

/** Signs out and in again with the passkey: a new session, the tab's memory gone. */
async function newSession(page) {
  await page.click('[data-testid="account-menu"]');
  await page.click('#sign-out');
  await landsOn(page, '/login');
  await page.click('#sign-in');
  await landsOn(page, '/dashboard');
}

async function keysPage(page) {
  await page.goto(`${relay.baseUrl}/dashboard/keys`);
  await hydrated(page);
  await page.waitForSelector('#keys-file, #keys-unlocked', { state: 'attached' });
}

async function unlockFile(page, file) {
  await page.setInputFiles('#keys-file', file);
  await page.waitForSelector('#keys-unlocked');
}

test('a reload in the middle of a redemption resumes it and leaves no orphan org', async () => {
  const printed = await relay.cli(['invite', 'create', '--numbers', NUMBER]);
  const link = /Redeem:\s+(\S+)/.exec(printed)[1];
  admin = await newPerson(browser, relay.baseUrl);
  const { page } = admin;
  await page.goto(link);
  await hydrated(page);
  await page.fill('#org-name', NAME);
  await page.fill('#numbers', NUMBER);
  await page.fill('#email', 'admin@resume.example');
  await page.click('#redeem-submit');
  await page.waitForSelector('#save-keys', { timeout: 60_000 });
  assert.equal(await orgListed(), undefined, 'nothing is registered before keys.zip is saved');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-keys')]);
  keysPath = path.join(resultsDir, 'resume-clinic-keys.zip');
  await download.saveAs(keysPath);
  keys = checkKeysZip(await readFile(keysPath));
  await register(page);
  const firstLink = await page.getAttribute('a#setup-passkey', 'href');

  // The org exists, nobody has signed in yet: the operator's list says so.
  assert.equal((await orgListed()).passkeys, 0);

  // Reload before the passkey step: the setup link is gone from the page, the registration resumes.
  await page.reload();
  await hydrated(page);
  await page.waitForSelector('#redeem-resume');
  assert.match(await page.locator('#redeem-resume').innerText(), /Resume Clinic/);
  assert.equal(await page.locator('#org-id').innerText(), keys.orgId);
  await register(page);
  const secondLink = await page.getAttribute('a#setup-passkey', 'href');
  assert.notEqual(secondLink, firstLink, 'a new single-use setup link');
  await enrolAdmin(admin);
  assert.equal(await page.locator('#org-name').innerText(), NAME);
  assert.equal((await orgListed()).passkeys, 1);
  await screenshot(page, 'redeem-resumed');
  assert.deepEqual(unexpected(admin.problems), []);
});

test('remembered keys: a new session unlocks with the passkey alone; forget ends it', async () => {
  const { page } = admin;
  await keysPage(page);
  assert.equal(await page.locator('#unlock-passkey').count(), 0, 'nothing remembered yet');
  await unlockFile(page, keysPath);
  await page.click('#remember-keys');
  await page.waitForSelector('#keys-remembered');

  // What the browser keeps is ciphertext: no seed, no identity secret, no API key secret in the clear.
  const stored = await page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('fxe-device-keys/')));
  assert.equal(stored.length, 1);
  const record = JSON.parse(stored[0][1]);
  assert.equal(record.format, 'fxe-device-keys/v1');
  assert.equal(record.org_id, keys.orgId);
  assert.doesNotMatch(stored[0][1], /kem_seed|sign_seed|fxe_sk_|"secret"/);

  await newSession(page);
  await keysPage(page);
  await page.waitForSelector('#unlock-passkey');
  await page.click('#unlock-passkey');
  await page.waitForSelector('#keys-unlocked');
  assert.equal(await page.locator('#keys-unlocked .fingerprint').innerText(), keys.fingerprint);
  await screenshot(page, 'keys-unlocked-with-passkey');

  // Lock keeps the record; Forget removes it: the next session needs keys.zip again.
  await page.click('#lock-keys');
  await page.waitForSelector('#unlock-passkey');
  await page.click('#forget-device');
  await page.waitForSelector('#unlock-passkey', { state: 'detached' });
  const left = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('fxe-device-keys/')));
  assert.deepEqual(left, []);
  await newSession(page);
  await keysPage(page);
  assert.equal(await page.locator('#unlock-passkey').count(), 0);
  assert.deepEqual(unexpected(admin.problems), []);
});

test('staff keys.zip: no identity secret, no API keys; a teammate unlocks it and opens a fax', async () => {
  const { page } = admin;
  await keysPage(page);
  await unlockFile(page, keysPath);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#staff-keys-save')]);
  assert.equal(download.suggestedFilename(), 'staff-keys.zip');
  const staffPath = path.join(resultsDir, 'resume-clinic-staff-keys.zip');
  await download.saveAs(staffPath);
  const json = JSON.parse(unzip(await readFile(staffPath)).get('fxe-keys.json').toString('utf8'));
  assert.deepEqual(Object.keys(json.identity), ['public']);
  assert.deepEqual(json.api_keys, []);
  assert.deepEqual(json.bundles.map((b) => b.bundle.bundle_id), keys.bundleIds);
  assert.match(unzip(await readFile(staffPath)).get('README.txt').toString('utf8'), /STAFF keys\.zip/);

  // The admin sends a fax to the echo number, which sends it back to the org.
  const head = Buffer.from('%PDF-1.7\n%fxe staff test\n');
  const pdfPath = path.join(resultsDir, 'staff-test.pdf');
  await writeFile(pdfPath, Buffer.concat([head, randomBytes(4_000)]));
  await page.goto(`${relay.baseUrl}/dashboard/send`);
  await hydrated(page);
  await page.waitForSelector('#keys-file, #keys-unlocked', { state: 'attached' });
  if ((await page.locator('#keys-unlocked').count()) === 0) await unlockFile(page, keysPath);
  await page.fill('#send-to', ECHO);
  await page.waitForSelector('#recipient-found', { timeout: 30_000 });
  await page.setInputFiles('#send-file', pdfPath);
  await page.waitForSelector('#send-submit:not([disabled])');
  await page.click('#send-submit');
  await page.waitForSelector('#send-result', { timeout: 120_000 });

  // A teammate, invited as user, is told what they need and opens the echo with the staff keys.
  await page.goto(`${relay.baseUrl}/dashboard/team`);
  await hydrated(page);
  await page.fill('#member-email', 'desk@resume.example');
  await page.selectOption('#member-role', 'user');
  await page.click('#invite-member');
  await page.waitForSelector('#member-needs-keys');
  assert.match(await page.locator('#member-needs-keys').innerText(), /staff keys\.zip/);
  const setupUrl = await page.inputValue('#member-setup-url');

  const teammate = await newPerson(browser, relay.baseUrl);
  try {
    const tp = teammate.page;
    await tp.goto(setupUrl);
    await hydrated(tp);
    await tp.click('#create-passkey');
    await landsOn(tp, '/dashboard');
    await tp.goto(`${relay.baseUrl}/dashboard/inbox`);
    await hydrated(tp);
    const row = tp.locator('#messages tbody tr[data-message] a').first();
    await row.waitFor({ timeout: 60_000 });
    await row.click();
    await tp.waitForSelector('#open-fax');
    await tp.waitForSelector('#keys-file', { state: 'attached' });
    await unlockFile(tp, staffPath);
    assert.match(await tp.locator('#keys-unlocked').innerText(), /staff keys/);
    await tp.click('#open-fax:not([disabled])');
    await tp.waitForSelector('#fax-view, #fax-refused, #open-error', { timeout: 120_000 });
    assert.equal(await tp.locator('#fax-view').count(), 1, await tp.locator('main').innerText());
    await tp.waitForSelector('#receipt-sent');
    await screenshot(tp, 'staff-keys-opened');
  } finally {
    await teammate.close();
  }
});

test('an out-of-date keys.zip is flagged at unlock', async () => {
  const { page } = admin;
  await keysPage(page);
  if ((await page.locator('#keys-unlocked').count()) === 0) await unlockFile(page, keysPath);
  assert.equal(await page.locator('#keys-stale').count(), 0, 'current keys are not flagged');
  const rotated = await rotateBundle(page, 'resume-clinic-keys-rotated.zip');

  // The keys.zip saved before the rotation lacks the current bundle.
  await keysPage(page); // a new page load: the tab holds no keys
  await unlockFile(page, keysPath);
  await page.waitForSelector('#keys-stale');
  assert.match(await page.locator('#keys-stale').innerText(), /out of date/);
  await screenshot(page, 'keys-stale');
  await page.click('#lock-keys');
  await unlockFile(page, rotated);
  assert.equal(await page.locator('#keys-stale').count(), 0);
  assert.deepEqual(unexpected(admin.problems), []);
});

test('without PRF the passkey cannot remember keys: keys.zip stays the way to unlock', async () => {
  const printed = await relay.cli(['invite', 'create', '--numbers', '+15550007002']);
  const link = /Redeem:\s+(\S+)/.exec(printed)[1];
  const person = await newPerson(browser, relay.baseUrl, { prf: false });
  try {
    const { page } = person;
    await page.goto(link);
    await hydrated(page);
    await page.fill('#org-name', 'No PRF Clinic');
    await page.fill('#numbers', '+15550007002');
    await page.fill('#email', 'admin@noprf.example');
    await page.click('#redeem-submit');
    await page.waitForSelector('#save-keys', { timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-keys')]);
    const file = path.join(resultsDir, 'no-prf-keys.zip');
    await download.saveAs(file);
    await register(page);
    await enrolAdmin(person);
    await keysPage(page);
    await unlockFile(page, file);
    await page.click('#remember-keys');
    await page.waitForSelector('#unlock-error');
    assert.match(await page.locator('#unlock-error').innerText(), /no WebAuthn PRF support.*keys\.zip/);
    const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('fxe-device-keys/')));
    assert.deepEqual(stored, []);
  } finally {
    await person.close();
  }
});
