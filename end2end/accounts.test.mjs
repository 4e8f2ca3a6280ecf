// People's way into fxe, in a real browser with passkeys (Chrome's virtual
// authenticator): an operator enrols from the link `fxe-server operator add`
// printed and creates an invite; org A redeems it in the browser and saves
// keys.zip (checked by an independent reader); A's admin enrols a passkey,
// signs out and in; the used invite is refused; recovery by the mailed link
// enrols a new passkey; sign-out ends the session; signed-out visits to the
// dashboard go to the sign-in page. The tests run in order and build on each
// other. Each saves a screenshot of its final state in end2end/test-results/.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { checkKeysZip } from './keys-reader.mjs';
import { fitsScreen, hydrated, landsOn, launchBrowser, newPerson, redeemInBrowser, register, resultsDir, screenshot, startRelay, unexpected } from './support.mjs';

const ADMIN = 'admin@clinic-a.example';
const NUMBER = '+15550001001';

let relay;
let browser;
let operator; // the operator's browser
let admin; // org A's admin's browser
let redeemLink;
let keys; // what the independent reader found in keys.zip
let newDevice; // A's admin's second browser, enrolled by recovery

before(async () => {
  // Webhooks go to a receiver on loopback in these tests.
  relay = await startRelay({ env: { FXE_ALLOW_PRIVATE_WEBHOOKS: 'true' } });
  browser = await launchBrowser();
});

after(async () => {
  await operator?.close();
  await admin?.close();
  await browser?.close();
  await relay?.stop();
});

test('an operator enrols a passkey from the printed link and creates an invite', async () => {
  const printed = await relay.cli(['operator', 'add', '--email', 'operator@relay.example']);
  const setupUrl = /Setup:\s+(\S+)/.exec(printed)?.[1];
  assert.ok(setupUrl?.startsWith(`${relay.baseUrl}/setup/`), `a setup link on the relay's name: ${printed}`);

  operator = await newPerson(browser, relay.baseUrl);
  const { page } = operator;
  await page.goto(setupUrl);
  await hydrated(page);
  await page.fill('#passkey-label', 'Operator laptop');
  await page.click('#create-passkey');
  await landsOn(page, '/operator');
  assert.equal((await operator.credentials()).length, 1, 'the authenticator holds the new passkey');
  await page.waitForSelector('text=Signed in as operator@relay.example.');

  // The echo org is listed and cannot be disabled.
  await page.waitForSelector('#orgs tbody tr');
  assert.match(await page.locator('#orgs').innerText(), /built-in echo/);

  await page.fill('#invite-numbers', '+1 (555) 000-1001');
  await page.waitForSelector(`text=✓ ${NUMBER}`);
  await page.fill('#invite-note', 'Clinic A, checked by phone');
  await page.click('#create-invite');
  await page.waitForSelector('#new-invite');
  redeemLink = await page.inputValue('#invite-link');
  assert.ok(redeemLink.startsWith(`${relay.baseUrl}/redeem?token=`), redeemLink);
  await page.click('#new-invite button:has-text("Copy link")');
  await page.waitForSelector('#new-invite >> text=Copied.');
  // What was copied pastes as the link. A person's paste (the page itself may not read the clipboard:
  // Permissions-Policy clipboard-read=()).
  await page.fill('#invite-note', '');
  await page.focus('#invite-note');
  await page.keyboard.press('ControlOrMeta+V');
  assert.equal(await page.inputValue('#invite-note'), redeemLink);
  await page.fill('#invite-note', '');

  const row = page.locator('#invites tbody tr').first();
  await row.waitFor();
  assert.match(await row.innerText(), /active/);
  assert.match(await row.innerText(), /\+15550001001/);
  await screenshot(page, 'operator-invite-created');
  assert.deepEqual(unexpected(operator.problems), []);
});

test('org A redeems in the browser and must save keys.zip, which an independent reader accepts', async () => {
  admin = await newPerson(browser, relay.baseUrl);
  const { page } = admin;
  await page.goto(redeemLink);
  await hydrated(page);
  assert.equal(await page.inputValue('#token'), new URL(redeemLink).searchParams.get('token'));

  // Numbers are checked while typing.
  await page.fill('#numbers', '555-0001');
  await page.waitForSelector('#numbers-check .field-error');
  assert.equal(await page.getAttribute('#numbers', 'aria-invalid'), 'true');
  await page.fill('#numbers', '+1 555 000 1001');
  await page.waitForSelector(`#numbers-check >> text=✓ ${NUMBER}`);

  await page.fill('#org-name', 'Clinic A');
  await page.fill('#email', ADMIN);
  await page.click('#redeem-submit');
  await page.waitForSelector('#save-keys', { timeout: 60_000 });

  // Nothing is registered before keys.zip has been saved once: the relay has no org yet.
  assert.equal(await page.isDisabled('#redeem-register'), true);
  assert.equal(await page.locator('#setup-passkey').count(), 0);
  const before = JSON.parse(await relay.cli(['org', 'list', '--json']));
  assert.equal(before.filter((o) => !o.echo).length, 0, 'no org before keys.zip is saved');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-keys')]);
  assert.equal(download.suggestedFilename(), 'keys.zip');
  const saved = path.join(resultsDir, 'clinic-a-keys.zip');
  await download.saveAs(saved);
  keys = checkKeysZip(await readFile(saved));
  await register(page);
  assert.equal(keys.orgName, 'Clinic A');
  assert.equal(keys.relayUrl, relay.baseUrl);
  assert.equal(keys.bundleIds.length, 1);
  assert.deepEqual(keys.apiKeys.map((k) => k.scopes), [['send', 'receive', 'admin']]);

  // What the page shows is what keys.zip holds.
  assert.equal(await page.locator('#org-id').innerText(), keys.orgId);
  assert.equal(await page.locator('.facts .fingerprint').innerText(), keys.fingerprint);

  // The relay knows the same org: its directory serves A's number with the identity in keys.zip.
  const orgs = await relay.cli(['org', 'list', '--json']);
  const listed = JSON.parse(orgs).find((o) => o.org_id === keys.orgId);
  assert.ok(listed, `the relay lists org ${keys.orgId}`);
  assert.equal(listed.fingerprint.replaceAll(' ', ''), keys.fingerprint.replaceAll(' ', ''));
  assert.deepEqual([...listed.numbers, ...listed.pending_numbers], [NUMBER]);

  await page.waitForSelector('a#setup-passkey');
  await screenshot(page, 'redeem-keys-saved');
  assert.deepEqual(unexpected(admin.problems), []);
});

test("A's admin enrols a passkey and sees the dashboard with the org's fingerprint", async () => {
  const { page } = admin;
  await page.click('a#setup-passkey');
  await page.waitForURL(/\/setup\//);
  await hydrated(page);
  await page.fill('#passkey-label', 'Front desk PC');
  await page.click('#create-passkey');
  await landsOn(page, '/dashboard');
  assert.equal(await page.locator('#org-name').innerText(), 'Clinic A');
  assert.equal(await page.locator('.org-banner .fingerprint').innerText(), keys.fingerprint);
  await page.waitForSelector('#account-email');
  assert.equal(await page.locator('#account-email').innerText(), ADMIN);
  assert.match(await page.locator('#passkey-list').innerText(), /Front desk PC/);
  await page.waitForSelector('#org-summary');
  assert.match(await page.locator('#org-summary').innerText(), /\+15550001001/);
  const nav = await page.locator('.dashboard-nav a').allInnerTexts();
  assert.deepEqual(nav, ['Overview', 'Inbox', 'Send', 'Keys', 'Numbers', 'Webhooks', 'Team', 'Audit']);
  await screenshot(page, 'dashboard');
  assert.deepEqual(unexpected(admin.problems), []);
});

test('the dashboard works at 375 px and by keyboard', async () => {
  const { page } = admin;
  await page.setViewportSize({ width: 375, height: 812 });
  await page.reload();
  await hydrated(page);
  await page.waitForSelector('#account-email');
  await fitsScreen(page);
  // Tab from the top reaches the skip link, then the account menu.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Skip to content');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'account-menu');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#sign-out', { state: 'visible' });
  await screenshot(page, 'dashboard-375');
  await page.keyboard.press('Enter'); // closes the menu again
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.deepEqual(unexpected(admin.problems), []);
});

test('the admin invites a teammate as user, who enrols and cannot reach the admin pages', async () => {
  const { page } = admin;
  await page.goto(`${relay.baseUrl}/dashboard/team`);
  await hydrated(page);
  await page.waitForSelector(`#members tr[data-user="${ADMIN}"]`);
  await page.fill('#member-email', 'nurse@clinic-a.example');
  await page.selectOption('#member-role', 'user');
  await page.click('#invite-member');
  await page.waitForSelector('#member-link');
  const setupUrl = await page.inputValue('#member-setup-url');
  assert.ok(setupUrl.startsWith(`${relay.baseUrl}/setup/`), setupUrl);
  await page.waitForSelector('#members tr[data-user="nurse@clinic-a.example"]');
  await screenshot(page, 'team-invited');

  const teammate = await newPerson(browser, relay.baseUrl);
  await teammate.page.goto(setupUrl);
  await hydrated(teammate.page);
  await teammate.page.click('#create-passkey');
  await landsOn(teammate.page, '/dashboard');
  const nav = await teammate.page.locator('.dashboard-nav a').allInnerTexts();
  assert.deepEqual(nav, ['Overview', 'Inbox', 'Send']);
  await teammate.page.goto(`${relay.baseUrl}/dashboard/team`);
  await hydrated(teammate.page);
  await teammate.page.waitForSelector('text=This page is for your organization\'s admins.');
  const status = await teammate.page.evaluate(async () => (await fetch('/api/v1/users')).status);
  assert.equal(status, 403, 'the API refuses a user the team list');
  await screenshot(teammate.page, 'teammate-no-admin-pages');
  assert.deepEqual(unexpected(teammate.problems, [/^HTTP 403: \/api\/v1\/users$/, /status of 403/]), []);
  await teammate.close();

  // The audit trail shows the enrolment, filtered by action.
  await page.goto(`${relay.baseUrl}/dashboard/audit`);
  await hydrated(page);
  await page.fill('#audit-action', 'passkey.*');
  await page.click('form.filters button[type="submit"]');
  await page.waitForSelector('#audit >> text=nurse@clinic-a.example');
  assert.doesNotMatch(await page.locator('#audit tbody').innerText(), /user\.created/);
  await screenshot(page, 'audit');
  assert.deepEqual(unexpected(admin.problems), []);
});

test('sign-out ends the session; signed-out visits go to /login; signing in with the passkey comes back', async () => {
  const { page } = admin;
  await page.click('[data-testid="account-menu"]');
  await page.click('#sign-out');
  await landsOn(page, '/login');
  await page.waitForSelector('#signed-out-notice');

  // The session is over for the API too.
  const me = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
  assert.equal(me, 401);

  await page.goto(`${relay.baseUrl}/dashboard/team`);
  await landsOn(page, '/login');
  assert.equal(await page.locator('#signed-in-already').count(), 0, 'signed out: no "signed in as" note');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/dashboard/team');

  await page.click('#sign-in');
  await landsOn(page, '/dashboard/team');
  await page.goto(`${relay.baseUrl}/login`);
  await hydrated(page);
  await page.waitForSelector('#signed-in-already');
  await page.click('#signed-in-already a');
  await landsOn(page, '/dashboard');
  assert.equal(await page.locator('#org-name').innerText(), 'Clinic A');
  await screenshot(page, 'signed-in-again');
  assert.deepEqual(unexpected(admin.problems, [/^HTTP 401: \/api\/v1\/auth\/me$/]), []);
});

test('a second redemption with the same invite is refused in the page', async () => {
  const someoneElse = await newPerson(browser, relay.baseUrl);
  const { page } = someoneElse;
  await page.goto(redeemLink);
  await hydrated(page);
  await page.fill('#org-name', 'Clinic A again');
  await page.fill('#numbers', NUMBER);
  await page.fill('#email', 'other@clinic-a.example');
  await page.click('#redeem-submit');
  await page.waitForSelector('#save-keys', { timeout: 60_000 });
  await Promise.all([page.waitForEvent('download'), page.click('#save-keys')]);
  await page.click('#redeem-register:not([disabled])');
  await page.waitForSelector('#redeem-error', { timeout: 60_000 });
  assert.match(await page.locator('#redeem-error').innerText(), /already been (used|redeemed)/i);
  assert.equal(await page.locator('#setup-passkey').count(), 0, 'no passkey set-up is offered');
  await screenshot(page, 'redeem-refused');
  assert.deepEqual(unexpected(someoneElse.problems, [/^HTTP 4\d\d: \/api\/v1\/invites\/redeem$/, /status of 4\d\d/]), []);
  await someoneElse.close();
});

test('recovery: the mailed setup link enrols a passkey on a new device', async () => {
  newDevice = await newPerson(browser, relay.baseUrl);
  const { page } = newDevice;
  await page.goto(`${relay.baseUrl}/login`);
  await hydrated(page);
  const before = (await relay.outbox()).length;
  await page.fill('#recover-email', ADMIN);
  await page.click('#recover');
  await page.waitForSelector('#recover-sent');

  // The mail is written after the answer: wait for it.
  let link;
  for (let i = 0; i < 100 && !link; i++) {
    const mails = await relay.outbox();
    const mail = mails.slice(before).find((m) => m.includes(ADMIN));
    link = mail && new RegExp(`${relay.baseUrl}/setup/[A-Za-z0-9_-]+`).exec(mail)?.[0];
    if (!link) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(link, 'a recovery mail with a setup link is in the outbox');

  await page.goto(link);
  await hydrated(page);
  await page.fill('#passkey-label', 'New laptop');
  await page.click('#create-passkey');
  await landsOn(page, '/dashboard');
  await page.waitForSelector('#passkey-list');
  const listed = await page.locator('#passkey-list').innerText();
  assert.match(listed, /Front desk PC/);
  assert.match(listed, /New laptop/);

  // The new device signs in on its own.
  await page.click('[data-testid="account-menu"]');
  await page.click('#sign-out');
  await landsOn(page, '/login');
  await page.click('#sign-in');
  await landsOn(page, '/dashboard');
  await screenshot(page, 'recovered');
  assert.deepEqual(unexpected(newDevice.problems), []);
});

test('sign out everywhere ends the sessions in the other browsers too', async () => {
  const { page } = admin;
  await page.goto(`${relay.baseUrl}/dashboard`);
  await hydrated(page);
  await page.waitForSelector('#account-email');
  await page.click('[data-testid="account-menu"]');
  await page.click('#sign-out-everywhere');
  await landsOn(page, '/login');
  assert.match(await page.locator('#signed-out-notice').innerText(), /every device/);

  // The recovered device was signed in too; now it is not.
  const other = newDevice.page;
  assert.equal(await other.evaluate(async () => (await fetch('/api/v1/auth/me')).status), 401);
  await other.goto(`${relay.baseUrl}/dashboard`);
  await landsOn(other, '/login');
  await screenshot(other, 'signed-out-everywhere');
  await newDevice.close();
});

test('operators and org members each stay on their own pages', async () => {
  const { page } = operator;
  await page.goto(`${relay.baseUrl}/dashboard`);
  await landsOn(page, '/operator');
  await page.waitForSelector(`#orgs tr[data-org="${keys.orgId}"]`);
  const row = await page.locator(`#orgs tr[data-org="${keys.orgId}"]`).innerText();
  assert.match(row, /Clinic A/);
  const invite = await page.locator('#invites tbody tr').first().innerText();
  assert.match(invite, /used/);
  await screenshot(page, 'operator-orgs');
  assert.deepEqual(unexpected(operator.problems), []);
});

test("keys: another org's keys.zip is refused; A unlocks its own, rotates its bundle and makes an API key", async () => {
  const other = await redeemInBrowser(relay, browser, { name: 'Law Office B', number: '+15550002002', email: 'admin@law-b.example' });
  await other.person.close();
  const otherKeys = other.keysPath;
  const { page } = admin;
  await page.goto(`${relay.baseUrl}/login`);
  await hydrated(page);
  await page.click('#sign-in');
  await landsOn(page, '/dashboard');
  await page.click('.dashboard-nav a:has-text("Keys")');
  await page.waitForSelector('#keys-file', { state: 'attached' });
  assert.equal(await page.isDisabled('#rotate-bundle'), true, 'rotation needs the keys unlocked');

  await page.setInputFiles('#keys-file', otherKeys);
  await page.waitForSelector('#unlock-error');
  assert.match(await page.locator('#unlock-error').innerText(), /belongs to Law Office B.*not to your organization/);
  await page.setInputFiles('#keys-file', path.join(resultsDir, 'clinic-a-keys.zip'));
  await page.waitForSelector('#keys-unlocked');
  assert.equal(await page.locator('#keys-unlocked .fingerprint').innerText(), keys.fingerprint);

  // Rotation: the new keys.zip is saved before the bundle is published.
  await page.click('#rotate-bundle');
  await page.waitForSelector('#publish-bundle');
  assert.equal(await page.isDisabled('#publish-bundle'), true);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#rotated-keys-save')]);
  const rotated = path.join(resultsDir, 'clinic-a-keys-rotated.zip');
  await download.saveAs(rotated);
  const after = checkKeysZip(await readFile(rotated));
  assert.equal(after.orgId, keys.orgId);
  assert.equal(after.bundleIds.length, 2, 'the old bundle is kept');
  assert.equal(after.bundleIds[0], keys.bundleIds[0]);
  await page.click('#publish-bundle');
  await page.waitForSelector('#bundle-published');
  await page.waitForSelector(`#bundles >> text=${after.bundleIds[1]}`);

  // An API key made in the page: its secret is shown once.
  await page.fill('#api-key-label', 'Records fax server');
  await page.click('#create-api-key');
  await page.waitForSelector('#api-key-secret');
  const secret = await page.locator('#api-key-secret-value').inputValue();
  assert.match(secret, /^fxe_sk_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
  const keyId = `ak_${secret.split('_')[2]}`;
  await page.waitForSelector(`#api-keys tr[data-key="${keyId}"]`);
  await screenshot(page, 'keys');

  // Lock forgets them.
  await page.click('#lock-keys');
  await page.waitForSelector('#keys-file', { state: 'attached' });
  assert.deepEqual(unexpected(admin.problems), []);
});

test('webhooks: A adds an endpoint, sees its secret once, and a test ping reaches a local receiver', async () => {
  const received = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ type: req.headers['x-fxe-event-type'], signature: req.headers['x-fxe-signature'], body });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${receiver.address().port}/fxe-events`;
  try {
    const { page } = admin;
    await page.goto(`${relay.baseUrl}/dashboard/webhooks`);
    await hydrated(page);
    await page.fill('#webhook-url', hook);
    await page.check('input[value="ping"]');
    await page.fill('#webhook-description', 'Records system');
    await page.click('#create-webhook');
    await page.waitForSelector('#webhook-secret');
    assert.ok((await page.inputValue('#webhook-secret-value')).length >= 32, 'a signing secret is shown');
    const card = page.locator('section.webhook').first();
    await card.waitFor();
    assert.match(await card.innerText(), /fxe-events/);

    await card.locator('button:has-text("Send test ping")').click();
    for (let i = 0; i < 100 && !received.some((r) => r.type === 'ping'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(received.some((r) => r.type === 'ping' && r.signature), 'the receiver got a signed ping');
    // The delivery shows as succeeded, with its attempt.
    for (let i = 0; i < 50; i++) {
      await card.locator('button:has-text("Refresh")').click();
      if ((await card.locator('.delivery[data-status="succeeded"]').count()) > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const delivery = card.locator('.delivery[data-status="succeeded"]').first();
    assert.match(await delivery.innerText(), /HTTP 204/);
    await screenshot(page, 'webhooks');
    assert.deepEqual(unexpected(admin.problems), []);
  } finally {
    receiver.close();
  }
});

/** Records (and dismisses) every native dialog `page` opens; resolves to their messages. */
function watchDialogs(page) {
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  return dialogs;
}

/** Clicks the in-page confirmation `id`: Cancel first (nothing happens), then Yes. */
async function confirmInPage(page, id) {
  await page.click(`#${id}`);
  await page.waitForSelector(`#${id}-confirm[role="alertdialog"]`);
  await page.click(`#${id}-no`);
  await page.waitForSelector(`#${id}-confirm`, { state: 'detached' });
  await page.click(`#${id}`);
  await page.click(`#${id}-yes`);
}

test('consequential actions ask in the page (no native dialog): release a number, revoke an API key, rotate and delete a webhook', async () => {
  const { page } = admin;
  const dialogs = watchDialogs(page);
  // A claims a second number, then releases it.
  await page.goto(`${relay.baseUrl}/dashboard/numbers`);
  await hydrated(page);
  await page.fill('#claim-number', '+1 555 000 1009');
  await page.click('button:has-text("Claim")');
  await page.waitForSelector('#numbers li[data-number="+15550001009"]');
  await page.click('#release-15550001009');
  assert.match(await page.locator('#release-15550001009-question').innerText(), /Release \+15550001009\? Faxes to it will no longer reach you/);
  await page.click('#release-15550001009-no');
  assert.equal(await page.locator('#numbers li[data-number="+15550001009"]').count(), 1, 'Cancel keeps it');
  await confirmInPage(page, 'release-15550001009');
  await page.waitForSelector('#numbers li[data-number="+15550001009"]', { state: 'detached' });

  // The API key made earlier.
  await page.goto(`${relay.baseUrl}/dashboard/keys`);
  await hydrated(page);
  const keyRow = page.locator('#api-keys tbody tr').first();
  await keyRow.waitFor();
  const keyId = await keyRow.getAttribute('data-key');
  await confirmInPage(page, `revoke-${keyId}`);
  await page.waitForSelector(`#api-keys tr[data-key="${keyId}"] >> text=revoked`);

  // The webhook endpoint: a new secret, then deleted.
  await page.goto(`${relay.baseUrl}/dashboard/webhooks`);
  await hydrated(page);
  const card = page.locator('section.webhook').first();
  await card.waitFor();
  const hookId = await card.getAttribute('data-webhook');
  await confirmInPage(page, `rotate-${hookId}`);
  await page.waitForSelector('#webhook-secret');
  await confirmInPage(page, `delete-${hookId}`);
  await page.waitForSelector(`section.webhook[data-webhook="${hookId}"]`, { state: 'detached' });
  assert.deepEqual(dialogs, [], 'no native dialog was opened');
  await screenshot(page, 'confirm-in-page');
  assert.deepEqual(unexpected(admin.problems), []);
});

test("the operator's page of one org: numbers and their states, members, passkeys, its invite; deny, revoke, disable and enable in the page", async () => {
  // A claims a number, which waits for the operator.
  const ap = admin.page;
  await ap.goto(`${relay.baseUrl}/dashboard/numbers`);
  await hydrated(ap);
  await ap.fill('#claim-number', '+1 555 000 1008');
  await ap.click('button:has-text("Claim")');
  await ap.waitForSelector('#numbers li[data-number="+15550001008"]');

  const { page } = operator;
  const dialogs = watchDialogs(page);
  await page.goto(`${relay.baseUrl}/operator`);
  await hydrated(page);
  await page.click(`#orgs tr[data-org="${keys.orgId}"] a.org-link`);
  await page.waitForURL(`${relay.baseUrl}/operator/orgs/${keys.orgId}`);
  await page.waitForSelector('#operator-org');
  assert.equal(await page.locator('#org-title').innerText(), 'Clinic A');
  assert.equal(await page.locator('#org-id').innerText(), keys.orgId);
  assert.equal(await page.locator('#operator-org .fingerprint').innerText(), keys.fingerprint);
  assert.equal(await page.locator('#org-status').innerText(), 'active');
  assert.match(await page.locator('#org-members').innerText(), /^2 members$/); // the admin and the teammate
  assert.match(await page.locator('#org-passkeys').innerText(), /passkeys? set up by its members/);
  assert.equal(await page.locator(`#org-numbers li[data-number="${NUMBER}"]`).getAttribute('data-state'), 'active');
  assert.equal(await page.locator('#org-numbers li[data-number="+15550001008"]').getAttribute('data-state'), 'pending');
  assert.match(await page.locator('#org-invites tbody tr').first().innerText(), /used/);
  await screenshot(page, 'operator-org');

  // Another org that never enrolled a passkey is flagged on its page.
  const orgsList = await page.evaluate(async () => (await (await fetch('/api/v1/operator/orgs')).json()).items);
  const unfinished = orgsList.find((o) => o.org_name === 'Law Office B');
  await page.goto(`${relay.baseUrl}/operator/orgs/${unfinished.org_id}`);
  await hydrated(page);
  await page.waitForSelector('#org-never-enrolled');
  // An id that is no org.
  await page.goto(`${relay.baseUrl}/operator/orgs/00000000000000000000000000000000`);
  await hydrated(page);
  await page.waitForSelector('#org-missing');

  // On the operator page: deny the claim and revoke a new invite, each confirmed in the page.
  await page.goto(`${relay.baseUrl}/operator`);
  await hydrated(page);
  await confirmInPage(page, 'deny-15550001008');
  await page.waitForSelector('#deny-15550001008', { state: 'detached' });
  await page.fill('#invite-note', 'to be revoked');
  await page.click('#create-invite');
  await page.waitForSelector('#new-invite');
  const inviteRow = page.locator('#invites tbody tr', { hasText: 'to be revoked' });
  await inviteRow.waitFor();
  const inviteId = await inviteRow.getAttribute('data-invite');
  await confirmInPage(page, `revoke-${inviteId}`);
  await page.waitForSelector(`#invites tr[data-invite="${inviteId}"] >> text=revoked`);

  // Disable A from its page, then enable it again.
  await page.goto(`${relay.baseUrl}/operator/orgs/${keys.orgId}`);
  await hydrated(page);
  await page.waitForSelector('#operator-org');
  assert.equal(await page.locator('#org-numbers li[data-number="+15550001008"]').count(), 0, 'the denied claim is gone');
  await page.click(`#toggle-${keys.orgId}`);
  assert.match(await page.locator(`#toggle-${keys.orgId}-question`).innerText(), /^Disable Clinic A\? Its keys and sessions stop working/);
  await page.click(`#toggle-${keys.orgId}-yes`);
  await page.waitForSelector('#operator-org[data-disabled="true"]');
  assert.match(await page.locator('#org-status').innerText(), /^disabled /);
  await confirmInPage(page, `toggle-${keys.orgId}`);
  await page.waitForSelector('#operator-org[data-disabled="false"]');
  assert.equal(await page.locator('#org-status').innerText(), 'active');
  assert.deepEqual(dialogs, [], 'no native dialog was opened');
  assert.deepEqual(unexpected(operator.problems), []);
});
