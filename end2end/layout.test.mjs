// Every page fits a phone: at 320 and 375 px wide no page is wider than the
// screen (document scrollWidth), for an operator, an org admin with faxes in
// the inbox and outbox, and signed-out visitors. Tables scroll inside their
// own frame; the page itself never does sideways. Issue 15, finding 9.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makePdf, nav, send, unlock } from './faxing.mjs';
import { enrolAdmin, hydrated, launchBrowser, newPerson, redeemInBrowser, screenshot, startRelay, unexpected } from './support.mjs';

const WIDTHS = [320, 375];
const ECHO = '+10000000000';

let relay;
let browser;
let admin; // { person, keysPath }
let operator;
let faxId;

before(async () => {
  relay = await startRelay();
  browser = await launchBrowser();
});

after(async () => {
  await admin?.person.close();
  await operator?.close();
  await browser?.close();
  await relay?.stop();
});

/** How much wider than the screen the page is, and the widest elements that stick out (for the failure message). */
async function overflow(page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const over = document.documentElement.scrollWidth - width;
    const scrolls = (el) => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(el).overflowX);
    const clipped = (el) => {
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) if (scrolls(p)) return true;
      return false;
    };
    const sticksOut = (el) => el.getBoundingClientRect().right > width + 1;
    // The deepest elements that stick out and are not inside something that scrolls or clips: where a fix goes.
    const culprits = [...document.querySelectorAll('body *')]
      .filter((el) => sticksOut(el) && !clipped(el))
      .filter((el) => scrolls(el) || ![...el.children].some(sticksOut))
      .map((el) => {
        const id = el.id ? `#${el.id}` : '';
        const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
        return `${el.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(el.getBoundingClientRect().right)} px)`;
      })
      .slice(0, 5);
    return { over, culprits };
  });
}

/** Visits each of `paths` at each width; fails naming every page that is wider than the screen. */
async function everyPageFits(person, paths) {
  const { page } = person;
  const wide = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    for (const p of paths) {
      await page.goto(`${relay.baseUrl}${p}`);
      await hydrated(page);
      // Lists load after hydration: wait until no "Loading" line is left.
      await page.waitForFunction(() => !document.querySelector('[role="status"].loading, .loading'), null, { timeout: 30_000 }).catch(() => {});
      const { over, culprits } = await overflow(page);
      if (over > 0) {
        wide.push(`${p} at ${width} px: ${over} px too wide; sticking out: ${culprits.join(', ') || 'nothing outside tables'}`);
        await screenshot(page, `too-wide-${width}-${p.replaceAll('/', '_')}`);
      }
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.deepEqual(wide, [], 'every page fits the screen');
}

test('an org admin with faxes sent and received', async () => {
  admin = await redeemInBrowser(relay, browser, { name: 'Clinic with a rather long name, Inc.', number: '+15550007001', email: 'front-desk.administrator@clinic-with-a-long-domain.example' });
  await enrolAdmin(admin.person);
  const { page } = admin.person;
  await nav(page, 'Send');
  await unlock(page, admin.keysPath);
  const fax = await makePdf('layout-fax.pdf', 20_000);
  faxId = await send(page, ECHO, fax.path);
  // The echo sends it back: a fax waits in the inbox.
  await nav(page, 'Inbox');
  await page.waitForSelector('#messages tbody tr', { timeout: 60_000 });
});

test('every dashboard page fits 320 and 375 px', async () => {
  const sections = ['inbox', 'outbox', 'send', 'keys', 'numbers', 'webhooks', 'team', 'audit'];
  await everyPageFits(admin.person, ['/dashboard', ...sections.map((s) => `/dashboard/${s}`), `/dashboard/messages/${faxId}`]);
  assert.deepEqual(unexpected(admin.person.problems), []);
});

test('the operator pages and the signed-out pages fit 320 and 375 px', async () => {
  const printed = await relay.cli(['operator', 'add', '--email', 'operator-with-a-long-address@relay.example']);
  const setupUrl = /Setup:\s+(\S+)/.exec(printed)[1];
  operator = await newPerson(browser, relay.baseUrl);
  await operator.page.goto(setupUrl);
  await hydrated(operator.page);
  await operator.page.click('#create-passkey');
  await operator.page.waitForURL((url) => url.pathname === '/operator', { timeout: 30_000 });
  await everyPageFits(operator, ['/operator']);
  assert.deepEqual(unexpected(operator.problems), []);

  const visitor = await newPerson(browser, relay.baseUrl);
  const printedInvite = await relay.cli(['invite', 'create', '--numbers', '+15550007002']);
  const redeem = new URL(/Redeem:\s+(\S+)/.exec(printedInvite)[1]);
  await everyPageFits(visitor, ['/', '/login', `${redeem.pathname}${redeem.search}`, '/no-such-page']);
  assert.deepEqual(unexpected(visitor.problems, [/^HTTP 404: \/no-such-page$/, /status of 404/]), []);
  await visitor.close();
});
