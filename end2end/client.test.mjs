// The browser and the CLI seal and open the same faxes: the web app's
// WebCrypto path (AES-256-GCM per chunk and SHA-256 through crypto.subtle,
// with fxe-protocol's chunk plan) is byte-compatible with fxe-client's
// RustCrypto one. A web org (A) and a CLI org (C) on one relay: a fax A
// seals in the browser is received by `fxe-client receive` byte for byte,
// and a fax C sends with `fxe-client send` opens in A's browser with the
// same bytes. The faxes have a partial last chunk (3 chunks of 1 MiB).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { STREAMED, makePdf, nav, openFromInbox, send, sha256, unlock } from './faxing.mjs';
import { enrolAdmin, launchBrowser, redeemInBrowser, screenshot, startRelay, unexpected } from './support.mjs';

const A_NUMBER = '+15550005001';
const C_NUMBER = '+15550006002';

let relay;
let browser;
let a; // the web org's admin: { person, keysPath }
let cDir; // the CLI org's folder: keys.zip, pins, received faxes

before(async () => {
  relay = await startRelay();
  browser = await launchBrowser();
  cDir = await mkdtemp(path.join(os.tmpdir(), 'fxe-e2e-cli-'));
  a = await redeemInBrowser(relay, browser, { name: 'Web Clinic', number: A_NUMBER, email: 'admin@web.example' });
  await enrolAdmin(a.person);
  const printed = await relay.cli(['invite', 'create', '--numbers', C_NUMBER]);
  const link = /Redeem:\s+(\S+)/.exec(printed)[1];
  await relay.client(cDir, ['redeem', '--relay', relay.baseUrl, '--token', link, '--org-name', 'CLI Office', '--numbers', C_NUMBER, '--admin-email', 'admin@cli.example', '--json']);
});

after(async () => {
  await a?.person.close();
  await browser?.close();
  await relay?.stop();
  if (cDir) await rm(cDir, { recursive: true, force: true });
});

test('a fax sealed in the browser opens with fxe-client, byte for byte', async () => {
  const { page } = a.person;
  const pdf = await makePdf('fax-web-to-cli.pdf', 2 * (1 << 20) + 12_345);
  await nav(page, 'Send');
  await unlock(page, a.keysPath);
  const id = await send(page, C_NUMBER, pdf.path, { expectOrg: 'CLI Office' });
  const received = JSON.parse((await relay.client(cDir, ['receive', '--out-dir', 'in', '--json'])).trim().split('\n').pop());
  assert.equal(received.message_id, id);
  assert.deepEqual((await readdir(path.join(cDir, 'in'))).filter((n) => !n.startsWith('.')), [`${id}.pdf`]);
  const opened = await readFile(path.join(cDir, 'in', `${id}.pdf`));
  assert.equal(opened.length, pdf.bytes.length);
  assert.ok(opened.equals(pdf.bytes), 'fxe-client opened the bytes the browser sealed');
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
});

test('a fax sealed by fxe-client opens in the browser, byte for byte', async () => {
  const { page } = a.person;
  const pdf = await makePdf('fax-cli-to-web.pdf', 2 * (1 << 20) + 54_321);
  const sent = JSON.parse(await relay.client(cDir, ['send', '--to', A_NUMBER, '--from-name', 'CLI desk', pdf.path, '--json']));
  const id = sent.message_id;
  assert.match(id, /^[0-9a-f-]{36}$/);
  await nav(page, 'Inbox');
  assert.equal(await openFromInbox(page, id, a.keysPath), sha256(pdf.bytes), 'the browser opened the bytes fxe-client sealed');
  await screenshot(page, 'cli-fax-opened');
  assert.deepEqual(unexpected(a.person.problems, [STREAMED]), []);
});
