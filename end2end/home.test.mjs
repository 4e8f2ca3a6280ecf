// The public pages in a real browser: the home page renders, loads its
// assets, hydrates, fits a 375 px screen and shows keyboard focus; unknown
// pages answer 404. Screenshots go to end2end/test-results/.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { hydrated, launchBrowser, resultsDir, startRelay, unexpected, watchCsp } from './support.mjs';

let relay;
let browser;
let baseUrl;

before(async () => {
  relay = await startRelay();
  baseUrl = relay.baseUrl;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await relay?.stop();
});

/** Opens a page that records console errors, failed requests and CSP violations. */
async function openPage(viewport) {
  const page = await browser.newPage(viewport ? { viewport } : { viewport: { width: 1280, height: 900 } });
  const problems = [];
  await watchCsp(page, problems);
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
  page.on('response', (response) => {
    if (response.status() >= 400 && response.url().startsWith(baseUrl) && !response.url().endsWith('/no/such/page')) {
      problems.push(`HTTP ${response.status()}: ${response.url().slice(baseUrl.length)}`);
    }
  });
  return { page, problems: { get list() { return unexpected(problems); } } };
}

test('the home page renders, loads its assets and hydrates', async () => {
  const { page, problems } = await openPage();
  const response = await page.goto(`${baseUrl}/`);
  assert.equal(response.status(), 200);
  assert.match(await page.title(), /fxe/);
  assert.match(await page.locator('h1').innerText(), /Faxes between organizations/);

  // The stylesheet applied (the design system's surface colour on cards).
  const cardRadius = await page.locator('.card').first().evaluate((el) => getComputedStyle(el).borderTopLeftRadius);
  assert.equal(cardRadius, '14px', 'style/main.css is served and applied');

  // Hydration: the wasm bundle ran and the disclosure button works.
  await hydrated(page);
  const toggle = page.locator('#visibility-toggle');
  const details = page.locator('#visibility-details');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  assert.equal(await details.isVisible(), false);
  await toggle.click();
  await page.waitForSelector('#visibility-toggle[aria-expanded="true"]', { timeout: 5_000 });
  assert.equal(await details.isVisible(), true);
  assert.match(await toggle.innerText(), /Hide the details/);
  await page.screenshot({ path: path.join(resultsDir, 'home.png'), fullPage: true });
  await toggle.click();
  await page.waitForSelector('#visibility-toggle[aria-expanded="false"]', { timeout: 5_000 });
  assert.equal(await details.isVisible(), false);

  const links = await page.locator('main a.button').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(links, ['/redeem', '/login']);
  assert.deepEqual(problems.list, []);
  await page.close();
});

test('the page runs under a strict Content-Security-Policy, which refuses an injected script', async () => {
  const { page, problems } = await openPage();
  const response = await page.goto(`${baseUrl}/`);
  const csp = response.headers()['content-security-policy'];
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  assert.ok(nonce, `a nonce in ${csp}`);
  assert.doesNotMatch(csp, /unsafe-inline/);
  // The hydration script carries this answer's nonce, and it ran.
  assert.equal(await page.locator(`script[type="module"][nonce]`).count(), 1);
  await hydrated(page);
  assert.deepEqual(problems.list, [], 'the page itself breaks no rule');

  // What an injected script would be: refused, and reported (so the other tests would see one of the app's own).
  const ran = await page.evaluate(async () => {
    const script = document.createElement('script');
    script.textContent = 'window.injected = true;';
    document.body.append(script);
    await new Promise((r) => setTimeout(r, 0));
    return window.injected === true;
  });
  assert.equal(ran, false, 'an inline script without the nonce does not run');
  const deadline = Date.now() + 10_000;
  while (!problems.list.some((p) => p.startsWith('csp violation: script-src-elem')) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(problems.list.some((p) => p.startsWith('csp violation: script-src-elem blocked inline')), problems.list.join('\n'));
  await page.close();
});

test('the home page fits a 375 px screen and shows keyboard focus', async () => {
  const { page, problems } = await openPage({ width: 375, height: 812 });
  await page.goto(`${baseUrl}/`);
  await hydrated(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);

  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    return { text: el?.textContent?.trim(), ring: el ? getComputedStyle(el).boxShadow : 'none' };
  });
  assert.equal(focused.text, 'Skip to content');
  assert.notEqual(focused.ring, 'none', 'focused element shows a focus ring');
  await page.screenshot({ path: path.join(resultsDir, 'home-375.png'), fullPage: true });
  assert.deepEqual(problems.list, []);
  await page.close();
});

test('unknown pages answer 404 with a way back', async () => {
  const { page, problems } = await openPage();
  const response = await page.goto(`${baseUrl}/no/such/page`);
  assert.equal(response.status(), 404);
  assert.match(await page.locator('h1').innerText(), /Page not found/);
  assert.equal(await page.locator('main a.button').getAttribute('href'), '/');
  await page.screenshot({ path: path.join(resultsDir, 'not-found.png') });
  // The browser logs the document's own 404; any other failing request is
  // still caught by the response listener.
  assert.deepEqual(
    problems.list.filter((p) => !p.startsWith('console: Failed to load resource: the server responded with a status of 404')),
    [],
  );
  await page.close();
});

test("a page asked for by IP address moves to the relay's name, where passkeys work", async () => {
  const { page, problems } = await openPage();
  await page.goto(`${relay.ipUrl}/login`);
  assert.equal(page.url(), `${baseUrl}/login`);
  assert.match(await page.locator('h1').innerText(), /Sign in/);
  assert.deepEqual(problems.list, []);
  await page.close();
});
