// Shared by the end-to-end tests: a real fxe-server on a free loopback port
// with its own data directory, Debian's Chromium through playwright-core, and
// Chrome's virtual WebAuthn authenticator for passkeys.
//
// Environment: FXE_SERVER_BIN (default target/release/fxe-server),
//              FXE_CLIENT_BIN (default: fxe-client next to the server),
//              CHROMIUM_PATH (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const serverBin = process.env.FXE_SERVER_BIN ?? path.join(root, 'target', 'release', 'fxe-server');
/** The CLI (`fxe-client`) built with the same profile as the relay, unless FXE_CLIENT_BIN says otherwise. */
export const clientBin = path.resolve(root, process.env.FXE_CLIENT_BIN ?? path.join(path.dirname(serverBin), 'fxe-client'));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const resultsDir = path.join(root, 'end2end', 'test-results');

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

/** The variables a relay (or its CLI) needs: no FXE_* or LEPTOS_* leaking in from the caller. */
function cleanEnv(extra) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('FXE_') && !key.startsWith('LEPTOS_')),
  );
  return { ...env, ...extra };
}

/**
 * Starts a relay (with `env` added to its environment). Its public URL is http://localhost:PORT (passkeys refuse IP
 * addresses); `ipUrl` is the same relay by address.
 */
export async function startRelay({ env: extraEnv = {} } = {}) {
  assert.ok(existsSync(serverBin), `${serverBin} is missing: run \`cargo leptos build\` first`);
  await mkdir(resultsDir, { recursive: true });
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'fxe-e2e-'));
  const port = await freePort();
  const dataDir = path.join(tempDir, 'data');
  const env = cleanEnv({ FXE_BIND: `127.0.0.1:${port}`, FXE_DATA_DIR: dataDir, RUST_LOG: 'info', ...extraEnv });
  const server = spawn(serverBin, ['serve'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  server.stdout.on('data', (chunk) => (log += chunk));
  server.stderr.on('data', (chunk) => (log += chunk));
  const stop = () => {
    if (server.exitCode === null) server.kill('SIGTERM');
  };
  process.on('exit', stop);

  const relay = {
    port,
    dataDir,
    baseUrl: `http://localhost:${port}`,
    ipUrl: `http://127.0.0.1:${port}`,
    log: () => log,
    /** Runs `fxe-server ARGS` against this relay's data directory; resolves to stdout. */
    async cli(args) {
      const env = cleanEnv({ FXE_DATA_DIR: dataDir, FXE_PUBLIC_URL: relay.baseUrl });
      const { stdout } = await promisify(execFile)(serverBin, args, { cwd: root, env });
      return stdout;
    },
    /** Runs `fxe-client ARGS` in `dir` (its keys.zip and pins live there); resolves to stdout. */
    async client(dir, args) {
      assert.ok(existsSync(clientBin), `${clientBin} is missing: run \`cargo build -p fxe-client\` (with --release for the release relay)`);
      const { stdout } = await promisify(execFile)(clientBin, args, { cwd: dir, env: cleanEnv({}), maxBuffer: 16 << 20 });
      return stdout;
    },
    /** The mails in the outbox, oldest first, quoted-printable undone. */
    async outbox() {
      const dir = path.join(dataDir, 'outbox');
      const names = existsSync(dir) ? (await readdir(dir)).filter((n) => n.endsWith('.eml')).sort() : [];
      const mails = [];
      for (const name of names) {
        const raw = await readFile(path.join(dir, name), 'utf8');
        mails.push(raw.replace(/=\r?\n/g, '').replace(/=3D/g, '='));
      }
      return mails;
    },
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        stop();
        await exited;
      }
      await rm(tempDir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`fxe-server exited with code ${server.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${relay.ipUrl}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`fxe-server did not become healthy within 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return relay;
}

export function launchBrowser({ args = [] } = {}) {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: [...chromiumArgs, ...args] });
}

/**
 * Reports every Content-Security-Policy violation in `page` (and its frames) to `problems` as `csp violation: …`:
 * an init script listens for `securitypolicyviolation` before the page's own scripts run. Chromium's console
 * "Refused to …" messages are console errors, so they are problems too.
 */
export async function watchCsp(page, problems) {
  await page.exposeBinding('__fxeCspViolation', ({ frame }, v) =>
    problems.push(`csp violation: ${v.directive} blocked ${v.blocked || 'inline'} in ${frame.url()} (${v.source}:${v.line})`),
  );
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      // The console's "Refused to …" error reports it too, should the page be closing.
      window.__fxeCspViolation?.({
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        source: e.sourceFile,
        line: e.lineNumber,
      }).catch(() => {});
    });
  });
}

/**
 * Problems a page should never show; `allow` filters expected ones. A request the browser cancels because its page
 * was left (a full page load after sign-in or sign-out, or the test going to another page while a list still loads)
 * is not a problem: `net::ERR_ABORTED` for a request made by a document a main-frame navigation then replaced. How
 * far a request got before that depends on the machine's load, so counting it would make the tests depend on it.
 * Chromium may report the cancelled request a moment before the navigation's own request event, so such a failure
 * is judged when the problems are read (`unexpected`): it was left behind if a navigation began after the document
 * that made it had loaded (its DOMContentLoaded) and no later than `RACE_MS` after the failure.
 */
const RACE_MS = 5_000;

async function watch(page, baseUrl, problems) {
  await watchCsp(page, problems);
  const navigations = []; // when each main-frame navigation began (ms)
  let loaded = 0; // when the latest main-frame document had loaded (ms)
  const madeBy = new WeakMap(); // request -> when the document that made it had loaded
  page.on('domcontentloaded', () => (loaded = Date.now()));
  page.on('request', (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) navigations.push(Date.now());
    else madeBy.set(request, loaded);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // Only the relay's own requests count: a download's navigation (blob:) is reported as aborted, and Chromium's
    // PDF viewer loads its own resources.
    if (!request.url().startsWith(baseUrl)) return;
    const error = request.failure()?.errorText;
    const text = `request failed: ${request.url()} (${error})`;
    if (error !== 'net::ERR_ABORTED' || !madeBy.has(request)) return void problems.push(text);
    const documentLoaded = madeBy.get(request);
    const failedAt = Date.now();
    const left = () => navigations.some((at) => at > documentLoaded && at <= failedAt + RACE_MS);
    problems.push({ text, left });
  });
  page.on('response', (response) => {
    if (response.status() >= 400 && response.url().startsWith(baseUrl)) {
      problems.push(`HTTP ${response.status()}: ${response.url().slice(baseUrl.length)}`);
    }
  });
}

/**
 * The problems that matter: a signed-out page asking who is signed in gets
 * 401 from /auth/me (and the console says so); that is how it learns.
 */
export function unexpected(problems, also = []) {
  const expected = [
    /^HTTP 401: \/api\/v1\/auth\/me$/,
    /^console: Failed to load resource: the server responded with a status of 401/,
    ...also,
  ];
  return problems
    .flatMap((p) => (typeof p === 'string' ? [p] : p.left() ? [] : [p.text]))
    .filter((p) => !expected.some((re) => re.test(p)));
}

/**
 * A person at their own computer: a browser context and a tab with a virtual
 * platform authenticator (CTAP2, internal, resident keys, user verified, with
 * the PRF extension unless `prf` is false).
 */
export async function newPerson(browser, baseUrl, { viewport = { width: 1280, height: 900 }, prf = true } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
  const page = await context.newPage();
  const problems = [];
  await watch(page, baseUrl, problems);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      // The WebAuthn PRF extension (hmac-secret): "Remember keys on this device" (docs/device-keys.md).
      hasPrf: prf,
    },
  });
  return {
    context,
    page,
    problems,
    async credentials() {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    },
    async close() {
      await context.close();
    },
  };
}

export async function hydrated(page) {
  await page.waitForSelector('html[data-hydrated="true"]', { timeout: 30_000 });
}

/** Waits for a full page load to `pathname` (sign-in and sign-out reload the page). */
export async function landsOn(page, pathname) {
  await page.waitForURL((url) => url.pathname === pathname, { timeout: 30_000 });
  await hydrated(page);
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(resultsDir, `${name}.png`), fullPage: true });
}

/** The page is no wider than its screen. */
export async function fitsScreen(page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
}

/**
 * Redeems an invite made with `fxe-server invite create` in a new browser and
 * saves keys.zip; resolves to `{ person, keysPath }` (the person's page is on
 * the redeem page, with the passkey set-up link enabled).
 */
export async function redeemInBrowser(relay, browser, { name, number, email }) {
  const printed = await relay.cli(['invite', 'create', '--numbers', number]);
  const link = /Redeem:\s+(\S+)/.exec(printed)[1];
  const person = await newPerson(browser, relay.baseUrl);
  await person.page.goto(link);
  await hydrated(person.page);
  await person.page.fill('#org-name', name);
  await person.page.fill('#numbers', number);
  await person.page.fill('#email', email);
  await person.page.click('#redeem-submit');
  await person.page.waitForSelector('#save-keys', { timeout: 60_000 });
  const [download] = await Promise.all([person.page.waitForEvent('download'), person.page.click('#save-keys')]);
  const keysPath = path.join(resultsDir, `${name.replaceAll(' ', '-').toLowerCase()}-keys.zip`);
  await download.saveAs(keysPath);
  await register(person.page);
  return { person, keysPath };
}

/** On the redeem page with keys.zip saved: registers the org; resolves once the passkey set-up link is there. */
export async function register(page) {
  await page.click('#redeem-register:not([disabled])');
  await page.waitForSelector('a#setup-passkey', { timeout: 60_000 });
}

/** Follows the redeem page's link to enrol the admin's passkey; resolves on the dashboard. */
export async function enrolAdmin(person) {
  const { page } = person;
  await page.click('a#setup-passkey');
  await page.waitForURL(/\/setup\//);
  await hydrated(page);
  await page.click('#create-passkey');
  await page.waitForURL((url) => url.pathname === '/dashboard', { timeout: 30_000 });
  await hydrated(page);
}
