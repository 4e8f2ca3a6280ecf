// End-to-end smoke test of the built relay in a real browser.
//
// Starts target/release/fxe-server (built by `cargo leptos build --release`)
// on a free loopback port with a temporary data directory, drives Debian's
// Chromium through playwright-core, and checks that the home page renders,
// loads its assets, hydrates (a button that only works once the wasm bundle
// runs), fits a 375 px screen and shows keyboard focus. Screenshots go to
// end2end/test-results/.
//
// Run: node --test end2end/run.mjs   (or: node end2end/run.mjs)
// Environment: FXE_SERVER_BIN (default target/release/fxe-server),
//              CHROMIUM_PATH (default /usr/bin/chromium).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const serverBin = process.env.FXE_SERVER_BIN ?? path.join(root, 'target', 'release', 'fxe-server');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const resultsDir = path.join(root, 'end2end', 'test-results');

// Chromium on a machine without outside network, as root, headless.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

let tempDir;
let server;
let serverLog = '';
let baseUrl;
let context;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHealthy(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.exitCode !== null) {
      throw new Error(`fxe-server exited with code ${server.exitCode}:\n${serverLog}`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`fxe-server did not become healthy within ${timeoutMs} ms:\n${serverLog}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopServer() {
  if (server && server.exitCode === null) server.kill('SIGTERM');
}

before(async () => {
  assert.ok(existsSync(serverBin), `${serverBin} is missing: run \`cargo leptos build --release\` first`);
  assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing: run \`make tools\``);
  await mkdir(resultsDir, { recursive: true });
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'fxe-e2e-'));

  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  // Only the variables the relay needs: no FXE_* or LEPTOS_* leaking in from the caller.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('FXE_') && !key.startsWith('LEPTOS_')),
  );
  server = spawn(serverBin, ['serve'], {
    cwd: root,
    env: {
      ...env,
      FXE_BIND: `127.0.0.1:${port}`,
      FXE_DATA_DIR: path.join(tempDir, 'data'),
      RUST_LOG: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (chunk) => (serverLog += chunk));
  server.stderr.on('data', (chunk) => (serverLog += chunk));
  process.on('exit', stopServer);

  await waitForHealthy(`${baseUrl}/healthz`, 30_000);

  context = await chromium.launchPersistentContext(path.join(tempDir, 'chromium-profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  await context?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    stopServer();
    await exited;
  }
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
});

/** Opens a page that records console errors and failed requests. */
async function openPage(viewport) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
  page.on('response', (response) => {
    if (response.status() >= 400 && response.url().startsWith(baseUrl) && !response.url().endsWith('/no/such/page')) {
      problems.push(`HTTP ${response.status()}: ${response.url()}`);
    }
  });
  return { page, problems };
}

test('the home page renders, loads its assets and hydrates', async () => {
  const { page, problems } = await openPage();
  const response = await page.goto(`${baseUrl}/`);
  assert.equal(response.status(), 200);
  assert.match(await page.title(), /fxe/);
  assert.match(await page.locator('h1').innerText(), /Faxes between organisations/);

  // The stylesheet applied (the design system's surface colour on cards).
  const cardRadius = await page.locator('.card').first().evaluate((el) => getComputedStyle(el).borderTopLeftRadius);
  assert.equal(cardRadius, '14px', 'style/main.css is served and applied');

  // Hydration: the wasm bundle ran and the disclosure button works.
  await page.waitForSelector('html[data-hydrated="true"]', { timeout: 30_000 });
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
  assert.deepEqual(problems, []);
  await page.close();
});

test('the home page fits a 375 px screen and shows keyboard focus', async () => {
  const { page, problems } = await openPage({ width: 375, height: 812 });
  await page.goto(`${baseUrl}/`);
  await page.waitForSelector('html[data-hydrated="true"]', { timeout: 30_000 });
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
  assert.deepEqual(problems, []);
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
    problems.filter((p) => !p.startsWith('console: Failed to load resource: the server responded with a status of 404')),
    [],
  );
  await page.close();
});
