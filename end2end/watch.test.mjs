// How the browser tests judge a page (support.mjs): a request the browser
// cancels because its page was left is no problem (how far it got depends on
// the machine's load: issue 14, finding 10), one the page gives up itself is.
// The requests are held in flight by the test, so neither outcome depends on
// timing.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, launchBrowser, newPerson, startRelay, unexpected } from './support.mjs';

let relay;
let browser;

before(async () => {
  relay = await startRelay();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await relay?.stop();
});

/** Holds the page's next request to `path` in flight, never answered; resolves once it is held. */
async function hold(page, path) {
  let held;
  const arrived = new Promise((resolve) => (held = resolve));
  await page.route(`**${path}`, (route) => held(route));
  return arrived;
}

test('a request cancelled because its page was left is no problem; one the page aborts itself is', async () => {
  const person = await newPerson(browser, relay.baseUrl);
  const { page, problems } = person;
  await page.goto(`${relay.baseUrl}/`);
  await hydrated(page);

  // Still in flight when the page is left: the browser cancels it.
  const held = hold(page, '/api/v1/left-behind');
  await page.evaluate(() => void fetch('/api/v1/left-behind').catch(() => {}));
  await held;
  const cancelled = page.waitForEvent('requestfailed', (r) => r.url().endsWith('/api/v1/left-behind'));
  await page.goto(`${relay.baseUrl}/login`);
  assert.equal((await cancelled).failure()?.errorText, 'net::ERR_ABORTED');
  await hydrated(page);

  // Given up by the page itself, which stays: that is reported.
  const givenUp = hold(page, '/api/v1/given-up');
  await page.evaluate(() => {
    window.giveUp = new AbortController();
    void fetch('/api/v1/given-up', { signal: window.giveUp.signal }).catch(() => {});
  });
  await givenUp;
  const failed = page.waitForEvent('requestfailed', (r) => r.url().endsWith('/api/v1/given-up'));
  await page.evaluate(() => window.giveUp.abort());
  await failed;

  assert.deepEqual(unexpected(problems), [`request failed: ${relay.baseUrl}/api/v1/given-up (net::ERR_ABORTED)`]);
  await person.close();
});
