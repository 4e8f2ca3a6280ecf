// The browser benchmark (`make bench`): in headless Chromium, against the
// release build, seal and open 1 MiB and 100 MiB through the web app's own
// code (WASM, chunk by chunk, Blob in and Blob out), next to raw WebCrypto
// AES-256-GCM over the same bytes in the same 1 MiB chunks; the longest
// main-thread task (PerformanceObserver `longtask`: 0 when none reached 50 ms)
// and the peak JS heap during each seal and open; the two ways of hashing the
// ciphertext (WebCrypto digest of the whole, SHA-256 in WASM 1 MiB at a time);
// the transparency log's check of a directory answer (checkpoint, quorum 2,
// three inclusion proofs in a log of 10,000 orgs) in WASM, on the answer the
// native benchmark wrote (target/bench-results/transparency-fixture.json; run
// first if missing), next to one Ed25519 verification in WASM and both native;
// and the size of the WASM bundle, plain and gzipped.
// Results: target/bench-results/browser.json.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { hydrated, launchBrowser, newPerson, root, startRelay } from './support.mjs';

// 1 MiB, and the largest fax: 100 MiB of ciphertext, i.e. 100 MiB less 100 chunk tags of plaintext.
const LARGEST = (100 << 20) - 100 * 16;
const SIZES = [1 << 20, LARGEST];
const ROUNDS = { [1 << 20]: 5, [LARGEST]: 2 };

// The directory answer, proof and policy the native transparency benchmark checks.
const FIXTURE = path.join(root, 'target', 'bench-results', 'transparency-fixture.json');
if (!existsSync(FIXTURE)) {
  const made = spawnSync('cargo', ['bench', '-p', 'fxe-protocol', '--bench', 'transparency'], { cwd: root, stdio: 'inherit' });
  if (made.status !== 0) throw new Error('the native transparency benchmark failed: no fixture for the WASM check');
}
const fixture = await readFile(FIXTURE, 'utf8');

const relay = await startRelay();
const browser = await launchBrowser({ args: ['--enable-precise-memory-info'] });
const results = { when: new Date().toISOString(), runs: [] };
try {
  const { page } = await newPerson(browser, relay.baseUrl);
  await page.goto(relay.baseUrl);
  await hydrated(page);
  for (const size of SIZES) {
    for (let round = 0; round < ROUNDS[size]; round++) {
      const run = await page.evaluate(async (size) => {
        const mod = await import('/pkg/fxe.js');
        // The plaintext: random bytes, made in 64 KiB pieces (getRandomValues' limit).
        const plain = new Uint8Array(size);
        for (let i = 0; i < size; i += 65536) crypto.getRandomValues(plain.subarray(i, Math.min(size, i + 65536)));
        const blob = new Blob([plain], { type: 'application/pdf' });
        // Long tasks and the JS heap while the web app seals and opens.
        const tasks = [];
        const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries()));
        observer.observe({ type: 'longtask' });
        const heap = [];
        const sampler = setInterval(() => heap.push([performance.now(), performance.memory?.usedJSHeapSize ?? 0]), 10);
        const sealing = mod.fxeBenchSealOpen(blob);
        const fxe = await sealing;
        clearInterval(sampler);
        await new Promise((r) => setTimeout(r, 0));
        observer.takeRecords().forEach((t) => tasks.push(t));
        observer.disconnect();
        // The seal ends where the open starts; a long task counts for each it overlaps.
        const peak = (from, to) => Math.max(0, ...heap.filter(([t]) => t >= from && t <= to).map(([, h]) => h)) / 1048576;
        const longest = (from, to) => Math.max(0, ...tasks.filter((t) => t.startTime < to && t.startTime + t.duration > from).map((t) => t.duration));
        const opened = new Uint8Array(await fxe.opened.arrayBuffer());
        let same = opened.length === plain.length;
        for (let i = 0; same && i < plain.length; i++) same = opened[i] === plain[i];
        // Raw WebCrypto over the same bytes, 1 MiB at a time.
        const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
        const chunk = 1 << 20;
        const sealed = [];
        let t = performance.now();
        for (let i = 0, n = 0; i < size; i += chunk, n++) {
          const iv = new Uint8Array(12);
          new DataView(iv.buffer).setUint32(8, n);
          sealed.push([iv, await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, plain.subarray(i, Math.min(size, i + chunk)))]);
        }
        const rawSeal = performance.now() - t;
        t = performance.now();
        for (const [iv, ct] of sealed) await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, ct);
        const rawOpen = performance.now() - t;
        // The ways to hash the ciphertext, over bytes of its length: WebCrypto's digest of the whole, and SHA-256 in WASM.
        t = performance.now();
        await crypto.subtle.digest('SHA-256', plain);
        const digestMs = performance.now() - t;
        const wasmShaMs = mod.fxeBenchSha256Wasm(plain);
        return {
          size, seal_ms: fxe.seal_ms, open_ms: fxe.open_ms, webcrypto_seal_ms: rawSeal, webcrypto_open_ms: rawOpen,
          seal_longest_task_ms: longest(fxe.seal_start, fxe.seal_end), open_longest_task_ms: longest(fxe.seal_end, fxe.open_end),
          seal_peak_heap_mib: peak(fxe.seal_start, fxe.seal_end), open_peak_heap_mib: peak(fxe.seal_end, fxe.open_end + 20),
          webcrypto_sha256_ms: digestMs, wasm_sha256_ms: wasmShaMs,
          round_trip_ok: same && fxe.same_size,
        };
      }, size);
      results.runs.push(run);
    }
  }
  results.log_verify = await page.evaluate(async (fixture) => {
    const mod = await import('/pkg/fxe.js');
    return mod.fxeBenchLogVerify(fixture, 20);
  }, fixture);
  const native = JSON.parse(fixture);
  results.log_verify.native_verify_us = native.native_verify_us;
  results.log_verify.native_ed25519_us = native.native_ed25519_us;
} finally {
  await browser.close();
  await relay.stop();
}

const wasm = await readFile(path.join(root, 'target', 'site', 'pkg', 'fxe.wasm'));
results.wasm_bytes = wasm.length;
results.wasm_gzip_bytes = gzipSync(wasm, { level: 9 }).length;

const mib = (bytes, ms) => ((bytes / 1048576) / (ms / 1000)).toFixed(1);
const best = (size, key) => Math.min(...results.runs.filter((r) => r.size === size).map((r) => r[key]));
const worst = (size, key) => Math.max(...results.runs.filter((r) => r.size === size).map((r) => r[key]));
results.summary = SIZES.map((size) => ({
  size_mib: Number((size / 1048576).toFixed(2)),
  fxe_seal_mib_s: Number(mib(size, best(size, 'seal_ms'))),
  fxe_open_mib_s: Number(mib(size, best(size, 'open_ms'))),
  webcrypto_seal_mib_s: Number(mib(size, best(size, 'webcrypto_seal_ms'))),
  webcrypto_open_mib_s: Number(mib(size, best(size, 'webcrypto_open_ms'))),
  seal_ratio: Number((best(size, 'webcrypto_seal_ms') / best(size, 'seal_ms')).toFixed(3)),
  open_ratio: Number((best(size, 'webcrypto_open_ms') / best(size, 'open_ms')).toFixed(3)),
  seal_open_ms: Number(Math.min(...results.runs.filter((r) => r.size === size).map((r) => r.seal_ms + r.open_ms)).toFixed(1)),
  seal_longest_task_ms: worst(size, 'seal_longest_task_ms'),
  open_longest_task_ms: worst(size, 'open_longest_task_ms'),
  seal_peak_heap_mib: Number(worst(size, 'seal_peak_heap_mib').toFixed(1)),
  open_peak_heap_mib: Number(worst(size, 'open_peak_heap_mib').toFixed(1)),
  webcrypto_sha256_mib_s: Number(mib(size, best(size, 'webcrypto_sha256_ms'))),
  wasm_sha256_mib_s: Number(mib(size, best(size, 'wasm_sha256_ms'))),
  round_trip_ok: results.runs.filter((r) => r.size === size).every((r) => r.round_trip_ok),
}));
const out = path.join(root, 'target', 'bench-results');
await mkdir(out, { recursive: true });
await writeFile(path.join(out, 'browser.json'), JSON.stringify(results, null, 2) + '\n');
console.log('size      fxe seal   fxe open   WebCrypto seal   WebCrypto open   (MiB/s, best run)');
for (const s of results.summary) {
  console.log(`${String(s.size_mib).padStart(4)} MiB  ${String(s.fxe_seal_mib_s).padStart(8)}   ${String(s.fxe_open_mib_s).padStart(8)}   ${String(s.webcrypto_seal_mib_s).padStart(14)}   ${String(s.webcrypto_open_mib_s).padStart(14)}   ${s.round_trip_ok ? '' : 'ROUND TRIP FAILED'}`);
}
for (const s of results.summary) {
  console.log(`${String(s.size_mib).padStart(4)} MiB  ratio to WebCrypto: seal ${s.seal_ratio}, open ${s.open_ratio}; seal+open ${s.seal_open_ms} ms; longest task ${s.seal_longest_task_ms}/${s.open_longest_task_ms} ms (0: none >= 50 ms); peak JS heap ${s.seal_peak_heap_mib}/${s.open_peak_heap_mib} MiB; SHA-256 WebCrypto ${s.webcrypto_sha256_mib_s}, WASM ${s.wasm_sha256_mib_s} MiB/s`);
}
const lv = results.log_verify;
console.log(`transparency proof check: WASM ${lv.verify_us.toFixed(0)} µs (one Ed25519 verification ${lv.ed25519_us.toFixed(0)} µs), native ${lv.native_verify_us} µs (${lv.native_ed25519_us} µs)`);
console.log(`WASM bundle: ${(results.wasm_bytes / 1024).toFixed(0)} KiB, ${(results.wasm_gzip_bytes / 1024).toFixed(0)} KiB gzipped`);
console.log(`written to ${path.join(out, 'browser.json')}`);
if (!results.summary.every((s) => s.round_trip_ok)) process.exit(1);
