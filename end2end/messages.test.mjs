// Faxes through the web UI, in a real browser, with every key operation in
// WASM: two orgs (A and B) each redeem and enrol in their own browser. A's
// wrong keys.zip is refused; A sends a PDF to B (the recipient is looked up
// while typing, a non-PDF is warned about); B opens it and the bytes shown
// are the bytes sent; A sees it delivered with a receipt verified in the
// browser; A's pins catch a changed key until an admin confirms it; at first
// contact the relay's transparency log refuses keys it does not back; A sends
// to the echo number and opens the echo; A rotates its bundle and still
// opens a fax sealed to the old one; a teammate invited as user sends and
// opens, and cannot reach Team or Webhooks. The tests run in order and build
// on each other. Each saves a screenshot of its final state.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { STREAMED, makePdf, nav, openFromInbox, rotateBundle, send, sha256, unlock } from './faxing.mjs';
import { checkKeysZip } from './keys-reader.mjs';
import { enrolAdmin, fitsScreen, hydrated, launchBrowser, newPerson, redeemInBrowser, resultsDir, screenshot, startRelay, unexpected } from './support.mjs';

const A_NUMBER = '+15550003001';
const B_NUMBER = '+15550004002';
const ECHO = '+10000000000';
const ECHO_SHOWN = '+1 000 000 0000'; // as the pages show numbers (fxe_protocol::e164::display)

let relay;
let browser;
let a; // A's admin: { person, keysPath, keys }
let b; // B's admin
let pdf; // { path, bytes } of the fax A sends B
let sentToB; // its message id

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

test('two orgs redeem and enrol, each in its own browser', async () => {
  a = await redeemInBrowser(relay, browser, { name: 'Clinic A', number: A_NUMBER, email: 'admin@clinic-a.example' });
  b = await redeemInBrowser(relay, browser, { name: 'Law Office B', number: B_NUMBER, email: 'admin@law-b.example' });
  a.keys = checkKeysZip(await readFile(a.keysPath));
  b.keys = checkKeysZip(await readFile(b.keysPath));
  await enrolAdmin(a.person);
  await enrolAdmin(b.person);
  assert.equal(await a.person.page.locator('#org-name').innerText(), 'Clinic A');
  assert.equal(await b.person.page.locator('#org-name').innerText(), 'Law Office B');
});

test('B asks to hear of arrivals: a mail per fax, and a notification in this browser', async () => {
  const { page, context } = b.person;
  await context.grantPermissions(['notifications'], { origin: relay.baseUrl });
  // Records the notifications the page shows (Chromium headless shows none on screen).
  await page.addInitScript(() => {
    const Shown = window.Notification;
    window.shownNotifications = [];
    window.Notification = class extends Shown {
      constructor(title, options) {
        super(title, options);
        window.shownNotifications.push({ title, body: options?.body });
      }
    };
  });
  await page.goto(`${relay.baseUrl}/dashboard`);
  await hydrated(page);
  await page.waitForSelector('#browser-notifications[data-permission="granted"]');
  assert.equal(await page.isChecked('#notify-arrivals'), false, 'no mail until the member asks');
  await page.check('#notify-arrivals');
  await page.waitForSelector('#notify-arrivals:checked:not([disabled])');
  const me = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).json());
  assert.equal(me.notify_arrivals, true);
  assert.equal(await page.locator('#inbox-count').count(), 0, 'nothing waits yet');
  await screenshot(page, 'arrival-settings');
  assert.deepEqual(unexpected(b.person.problems), []);
});

test("sending needs A's own keys: another org's keys.zip is refused with a clear message", async () => {
  const { page } = a.person;
  await nav(page, 'Send');
  await page.waitForSelector('#keys-file', { state: 'attached' });
  await fitsScreen(page);
  assert.equal(await page.isDisabled('#send-submit'), true);
  await page.setInputFiles('#keys-file', b.keysPath);
  await page.waitForSelector('#unlock-error');
  assert.match(await page.locator('#unlock-error').innerText(), /belongs to Law Office B.*not to your organization/);
  await page.setInputFiles('#keys-file', a.keysPath);
  await page.waitForSelector('#keys-unlocked');
  assert.equal(await page.locator('#keys-unlocked .fingerprint').innerText(), a.keys.fingerprint);
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
});

test('A sends a PDF to B: the recipient is looked up while typing, a non-PDF is warned about', async () => {
  const { page } = a.person;
  // A number that is not on fxe.
  await page.fill('#send-to', '+1 555 000 9999');
  await page.waitForSelector('#not-on-network');
  assert.match(await page.locator('#not-on-network').innerText(), /not on fxe: send through your usual fax carrier/);
  // B's number: B's org and fingerprint, remembered on first contact.
  await page.fill('#send-to', B_NUMBER);
  await page.waitForSelector('#recipient-found');
  assert.equal(await page.locator('#recipient-org').innerText(), 'Law Office B');
  assert.equal(await page.locator('#recipient-found .fingerprint').innerText(), b.keys.fingerprint);
  await page.waitForSelector('#first-contact');
  assert.equal(await page.inputValue('#send-from'), A_NUMBER);

  // Not a PDF: a warning, and sending needs a confirmation.
  const text = path.join(resultsDir, 'not-a-pdf.txt');
  await writeFile(text, 'hello, this is not a PDF\n');
  await page.setInputFiles('#send-file', text);
  await page.waitForSelector('#not-pdf-warning');
  assert.equal(await page.isDisabled('#send-submit'), true);
  await page.check('#send-anyway');
  await page.waitForSelector('#send-submit:not([disabled])');

  // The real fax: 2.5 MB, three chunks.
  pdf = await makePdf('fax-a-to-b.pdf', 2_500_000);
  await page.fill('#send-name', 'Clinic A front desk');
  sentToB = await send(page, B_NUMBER, pdf.path, { expectOrg: 'Law Office B' });
  assert.equal(await page.locator('#not-pdf-warning').count(), 0, 'a PDF has no warning');
  assert.match(sentToB, /^[0-9a-f-]{36}$/);
  await screenshot(page, 'send-sent');
  // The Send page fits a phone too.
  await page.setViewportSize({ width: 375, height: 812 });
  await fitsScreen(page);
  await screenshot(page, 'send-375');
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.deepEqual(unexpected(a.person.problems, [STREAMED, /^HTTP 404: \/api\/v1\/directory\/%2B15550009999$/, /status of 404/]), []);
  a.person.problems.length = 0; // the 404 above was expected
});

test('B opens it in the browser: the bytes shown are the bytes sent, and the PDF downloads', async () => {
  const { page } = b.person;
  // Still on the dashboard since it asked to hear of arrivals: the count, the notification, the mail.
  await page.waitForSelector('#inbox-count[data-count="1"]', { timeout: 60_000 });
  const notified = await page.evaluate(() => window.shownNotifications);
  assert.deepEqual(notified, [{ title: 'A fax arrived', body: 'A fax arrived for +1 555 000 4002.' }]);
  let mail;
  for (let i = 0; i < 300 && !mail; i++) {
    mail = (await relay.outbox()).find((m) => m.includes('Subject: A fax arrived on fxe'));
    if (!mail) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(mail, 'the member who asked got a mail');
  assert.match(mail, /To: admin@law-b\.example/);
  assert.match(mail, /A fax arrived for \+1 555 000 4002\./);
  assert.doesNotMatch(mail, /Clinic A|555 000 3001|\+15550003001/, 'nothing of the sender');
  await nav(page, 'Inbox');
  await page.waitForSelector(`#messages tr[data-message="${sentToB}"]`, { timeout: 30_000 });
  assert.match(await page.locator(`#messages tr[data-message="${sentToB}"]`).innerText(), /Clinic A front desk/);
  await page.click(`#messages tr[data-message="${sentToB}"] a`);
  await page.waitForSelector('#open-fax');
  assert.equal(await page.locator('#peer-org strong').innerText(), 'Clinic A');
  assert.equal(await page.locator('#peer-org .fingerprint').innerText(), a.keys.fingerprint);
  await nav(page, 'Inbox');
  const shown = await openFromInbox(page, sentToB, b.keysPath);
  assert.equal(shown, sha256(pdf.bytes), 'the PDF shown is the PDF sent');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#fax-download')]);
  const saved = path.join(resultsDir, 'fax-received-by-b.pdf');
  await download.saveAs(saved);
  assert.equal(sha256(await readFile(saved)), sha256(pdf.bytes), 'the downloaded PDF is the PDF sent');
  await page.waitForSelector('#message[data-status="delivered"]');
  await fitsScreen(page);
  await screenshot(page, 'fax-opened');
  assert.deepEqual(unexpected(b.person.problems, [STREAMED]), []);
});

test('A sees the fax delivered, with the receipt verified in the browser', async () => {
  const { page } = a.person;
  await nav(page, 'Inbox');
  await page.click('.tabs a:has-text("Outbox")');
  await page.waitForSelector(`#messages tr[data-message="${sentToB}"] .badge[data-status="delivered"]`, { timeout: 30_000 });
  await page.click(`#messages tr[data-message="${sentToB}"] a`);
  await page.waitForSelector('#receipt-verified');
  assert.match(await page.locator('#receipt-verified').innerText(), /signed by the recipient and verified in this browser/);
  assert.match(await page.locator('#timeline').innerText(), /Opened by the recipient/);
  await screenshot(page, 'fax-delivered');
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
});

test("a changed key for B blocks sending until an admin confirms B's fingerprint", async () => {
  const { page } = a.person;
  // What a substituted key looks like to this browser: B's pin now holds another identity.
  await page.evaluate(([me, them]) => {
    const key = `fxe-pins/${me}`;
    const pins = JSON.parse(localStorage.getItem(key));
    pins.orgs[them].identity_pub = 'A'.repeat(43);
    localStorage.setItem(key, JSON.stringify(pins));
  }, [a.keys.orgId, b.keys.orgId]);
  await nav(page, 'Send');
  await page.fill('#send-to', B_NUMBER);
  await page.waitForSelector('#key-changed');
  assert.match(await page.locator('#key-changed').innerText(), /key has changed\. Sending is blocked/);
  assert.equal(await page.isDisabled('#send-submit'), true);
  await page.fill('#confirm-fingerprint', a.keys.fingerprint);
  await page.click('#key-changed button[type="submit"]');
  await page.waitForSelector('#key-changed >> text=That is not the fingerprint the relay offers');
  await screenshot(page, 'key-changed');
  await page.fill('#confirm-fingerprint', b.keys.fingerprint);
  await page.click('#key-changed button[type="submit"]');
  await page.waitForSelector('#recipient-found');
  assert.equal(await page.locator('#recipient-org').innerText(), 'Law Office B');
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
});

test("at first contact the send page refuses keys the relay's transparency log does not back", async () => {
  const { page } = a.person;
  // A browser that never saw B: no pins to compare with. Only the log stands between A and a
  // relay that hands out another org's keys for B's number.
  await page.evaluate((me) => localStorage.removeItem(`fxe-pins/${me}`), a.keys.orgId);
  assert.ok(await page.evaluate((me) => localStorage.getItem(`fxe-log/${me}`), a.keys.orgId), 'the log policy is pinned');
  const bPath = `**/api/v1/directory/${encodeURIComponent(B_NUMBER)}`;
  // The relay answers with the echo org's keys (well formed, validly signed, and proven in the
  // log for the echo number, not for B's).
  await page.route(bPath, async (route) => {
    const echo = await route.fetch({ url: `${relay.baseUrl}/api/v1/directory/${encodeURIComponent(ECHO)}` });
    const forged = await echo.json();
    forged.number = B_NUMBER;
    await route.fulfill({ response: echo, json: forged });
  });
  await nav(page, 'Send');
  await page.fill('#send-to', B_NUMBER);
  await page.waitForSelector('#recipient-error');
  assert.match(await page.locator('#recipient-error').innerText(), /does not verify \(the transparency log does not back it: .*\)\. It may be faulty or tampered with: nothing was sent/);
  assert.equal(await page.locator('#recipient-found').count(), 0);
  assert.equal(await page.isDisabled('#send-submit'), true);
  await screenshot(page, 'recipient-not-in-log');
  // The same answer without its proof: refused too.
  await page.unroute(bPath);
  await page.route(bPath, async (route) => {
    const res = await route.fetch();
    const entry = await res.json();
    delete entry.log;
    await route.fulfill({ response: res, json: entry });
  });
  await page.fill('#send-to', '');
  await page.fill('#send-to', B_NUMBER);
  await page.waitForSelector('#recipient-error >> text=carries no transparency log proof');
  // The honest answer: B, at first contact again.
  await page.unroute(bPath);
  await page.fill('#send-to', '');
  await page.fill('#send-to', B_NUMBER);
  await page.waitForSelector('#recipient-found');
  assert.equal(await page.locator('#recipient-org').innerText(), 'Law Office B');
  await page.waitForSelector('#first-contact');
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
});

test('Cancel stops a send, and the page says what the relay has: nothing to deliver, or the whole fax', async () => {
  const { page } = a.person;
  const big = await makePdf('fax-cancelled.pdf', 60_000_000);
  await page.fill('#send-to', B_NUMBER);
  await page.waitForSelector('#recipient-found');
  await page.setInputFiles('#send-file', big.path);
  await page.waitForSelector('#send-submit:not([disabled])');
  // Sealing 60 MB through WebCrypto may finish before the click lands: then Cancel stops the
  // upload instead, and on a fast machine the last bytes may already have left: then the relay
  // has the whole fax and queues it. Whatever happened, the page must say what the relay has.
  const created = [];
  const onResponse = async (r) => {
    if (r.request().method() === 'POST' && r.url().endsWith('/api/v1/messages') && r.ok()) {
      created.push((await r.json()).message.message_id);
    }
  };
  page.on('response', onResponse);
  await page.click('#send-submit');
  await page.waitForSelector('#send-progress');
  await page.click('#send-cancel');
  await page.waitForSelector('#send-error');
  const said = await page.locator('#send-error').innerText();
  page.off('response', onResponse);
  if (created.length === 0) {
    assert.match(said, /Cancelled\. Nothing was sent\./);
  } else {
    const status = await page.evaluate(
      async (id) => (await (await fetch(`/api/v1/messages/${id}`)).json()).status,
      created[0],
    );
    if (status === 'awaiting_upload') {
      assert.match(said, /Cancelled\. Nothing was delivered/);
    } else {
      assert.equal(status, 'queued', 'a fax whose upload finished is queued for the recipient');
      assert.match(said, /Too late to cancel: the relay had already received the whole fax, and it was sent/);
    }
  }
  await screenshot(page, 'send-cancelled');
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
});

test('A sends to the echo number and opens the echo', async () => {
  const { page } = a.person;
  const echoPdf = await makePdf('fax-to-echo.pdf', 300_000);
  await page.reload();
  await hydrated(page);
  await unlock(page, a.keysPath);
  const id = await send(page, ECHO, echoPdf.path);
  // The fax's page follows it until the echo's receipt arrives.
  await page.click('#send-result a');
  await page.waitForSelector('#receipt-verified', { timeout: 30_000 });
  assert.equal(await page.locator('#message').getAttribute('data-status'), 'delivered');
  await nav(page, 'Inbox');
  const echoRow = page.locator(`#messages tr:has-text("${ECHO_SHOWN}")`).first();
  await echoRow.waitFor({ timeout: 30_000 });
  const echoId = await echoRow.getAttribute('data-message');
  assert.notEqual(echoId, id);
  assert.equal(await openFromInbox(page, echoId, a.keysPath), sha256(echoPdf.bytes), 'the echo is the PDF sent');
  await screenshot(page, 'echo-opened');
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
});

test('A rotates its bundle and still opens a fax sealed to the old one', async () => {
  // B sends A a fax, sealed to A's current bundle.
  const bPage = b.person.page;
  await nav(bPage, 'Send');
  await unlock(bPage, b.keysPath);
  const oldFax = await makePdf('fax-b-to-a.pdf', 1_200_000);
  const id = await send(bPage, A_NUMBER, oldFax.path, { expectOrg: 'Clinic A' });

  // A rotates (the new keys.zip, with the old bundle kept, is saved first).
  const { page } = a.person;
  await nav(page, 'Keys');
  await unlock(page, a.keysPath);
  a.keysPath = await rotateBundle(page, 'clinic-a-keys-rotated-2.zip');
  assert.equal(checkKeysZip(await readFile(a.keysPath)).bundleIds.length, 2);

  await nav(page, 'Inbox');
  assert.equal(await openFromInbox(page, id, a.keysPath), sha256(oldFax.bytes), 'the old fax opens with the kept bundle');
  await screenshot(page, 'opened-after-rotation');
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
  assert.deepEqual(unexpected(b.person.problems, [STREAMED]), []);
});

test('a teammate invited as user sends and opens, and cannot reach Team or Webhooks', async () => {
  const { page } = a.person;
  await nav(page, 'Team');
  await page.fill('#member-email', 'clerk@clinic-a.example');
  await page.selectOption('#member-role', 'user');
  await page.click('#invite-member');
  await page.waitForSelector('#member-link');
  const setupUrl = await page.inputValue('#member-setup-url');

  const clerk = await newPerson(browser, relay.baseUrl);
  try {
    const cp = clerk.page;
    await cp.goto(setupUrl);
    await hydrated(cp);
    await cp.click('#create-passkey');
    await cp.waitForURL((url) => url.pathname === '/dashboard', { timeout: 30_000 });
    await hydrated(cp);
    assert.deepEqual(await cp.locator('.dashboard-nav a').allInnerTexts(), ['Overview', 'Inbox', 'Send']);

    await nav(cp, 'Send');
    await unlock(cp, a.keysPath);
    const clerkPdf = await makePdf('fax-clerk-to-echo.pdf', 100_000);
    const id = await send(cp, ECHO, clerkPdf.path);
    await nav(cp, 'Inbox');
    // The echo of the clerk's fax: the newest one from the echo number that is not yet opened.
    const row = cp.locator(`#messages tr:has-text("${ECHO_SHOWN}"):has(.badge[data-status="queued"])`).first();
    await row.waitFor({ timeout: 30_000 });
    const echoId = await row.getAttribute('data-message');
    assert.notEqual(echoId, id);
    assert.equal(await openFromInbox(cp, echoId, a.keysPath), sha256(clerkPdf.bytes));
    await screenshot(cp, 'teammate-opened');

    for (const section of ['team', 'webhooks']) {
      await cp.goto(`${relay.baseUrl}/dashboard/${section}`);
      await hydrated(cp);
      await cp.waitForSelector("text=This page is for your organization's admins.");
    }
    const statuses = await cp.evaluate(async () => [(await fetch('/api/v1/users')).status, (await fetch('/api/v1/webhooks')).status]);
    assert.deepEqual(statuses, [403, 403]);
    assert.deepEqual(unexpected(clerk.problems, [STREAMED, /^HTTP 403: \/api\/v1\/(users|webhooks)$/, /status of 403/]), []);
  } finally {
    await clerk.close();
  }
});
