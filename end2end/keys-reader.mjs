// An independent reader of keys.zip (PROTOCOL.md §3, §6, §7), written from
// the spec with Node's own zlib and crypto: it shares no code with
// fxe-protocol, so a keys.zip it accepts was made to the spec and not merely
// to our own reading of it.

import { createHash, createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';

/** The entries of a zip archive (stored or deflated, unencrypted): name → bytes. */
export function unzip(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries = new Map();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error('bad central directory entry');
    const flags = buf.readUInt16LE(at + 8);
    const method = buf.readUInt16LE(at + 10);
    const compressed = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.subarray(at + 46, at + 46 + nameLen).toString('utf8');
    if (flags & 1) throw new Error(`${name} is encrypted`);
    if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error('bad local header');
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + compressed);
    if (method === 0) entries.set(name, Buffer.from(data));
    else if (method === 8) entries.set(name, inflateRawSync(data));
    else throw new Error(`${name}: compression method ${method} is not read here`);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** base64url without padding, strictly. */
function b64u(s, len) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) throw new Error(`not base64url: ${s}`);
  const bytes = Buffer.from(s, 'base64url');
  if (bytes.toString('base64url') !== s) throw new Error(`non-canonical base64url: ${s}`);
  if (len !== undefined && bytes.length !== len) throw new Error(`expected ${len} bytes, got ${bytes.length}`);
  return bytes;
}

/** T(label, f1, …, fn) = ascii(label) || 0x00 || for each field: u32be(len) || field. */
function transcript(label, ...fields) {
  const parts = [Buffer.from(label, 'ascii'), Buffer.from([0])];
  for (const f of fields) {
    let bytes;
    if (typeof f === 'bigint') {
      bytes = Buffer.alloc(8);
      bytes.writeBigUInt64BE(f);
    } else if (typeof f === 'string') bytes = Buffer.from(f, 'utf8');
    else bytes = Buffer.from(f);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    parts.push(len, bytes);
  }
  return Buffer.concat(parts);
}

const sha256 = (b) => createHash('sha256').update(b).digest();

const ed25519Public = (raw) => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });

/** The Ed25519 public key of a 32-byte seed. */
function publicOfSeed(seed) {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const jwk = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return Buffer.from(jwk.x, 'base64url');
}

export const orgIdOf = (identityPub) => sha256(transcript('fxe/v1 org', identityPub)).subarray(0, 16).toString('hex');

export const fingerprintOf = (identityPub) =>
  sha256(transcript('fxe/v1 org', identityPub))
    .toString('hex')
    .match(/.{8}/g)
    .join(' ');

/**
 * Reads keys.zip and checks every key in it: the org id from the identity
 * key, each bundle's id and signature, each API key's id. Returns a summary.
 */
export function checkKeysZip(buf) {
  const entries = unzip(buf);
  if (!entries.has('README.txt')) throw new Error('keys.zip has no README.txt');
  const json = JSON.parse(entries.get('fxe-keys.json').toString('utf8'));
  if (json.format !== 'fxe-keys/v1') throw new Error(`format is ${json.format}`);

  const identityPub = b64u(json.identity.public, 32);
  const identitySeed = b64u(json.identity.secret, 32);
  if (!publicOfSeed(identitySeed).equals(identityPub)) throw new Error('identity secret does not match its public key');
  const orgId = orgIdOf(identityPub);
  if (json.org_id !== orgId) throw new Error(`org_id ${json.org_id} is not the identity key's ${orgId}`);

  if (!Array.isArray(json.bundles) || json.bundles.length === 0) throw new Error('no bundle');
  for (const { bundle, kem_seed, sign_seed } of json.bundles) {
    if (bundle.org_id !== orgId) throw new Error('bundle of another org');
    if (bundle.kem_alg !== 'X-Wing') throw new Error(`kem_alg ${bundle.kem_alg}`);
    const kemPub = b64u(bundle.kem_pub, 1216);
    const signPub = b64u(bundle.sign_pub, 32);
    b64u(kem_seed, 32);
    if (!publicOfSeed(b64u(sign_seed, 32)).equals(signPub)) throw new Error('bundle sign_seed does not match sign_pub');
    const tbs = transcript('fxe/v1 bundle', orgId, BigInt(bundle.created_at), 'X-Wing', kemPub, signPub);
    if (bundle.bundle_id !== sha256(tbs).subarray(0, 16).toString('hex')) throw new Error('bundle_id does not match');
    if (!verify(null, tbs, ed25519Public(identityPub), b64u(bundle.sig, 64))) throw new Error('bundle signature does not verify');
  }

  const apiKeys = json.api_keys.map(({ key_id, secret, scopes }) => {
    const m = /^fxe_sk_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/.exec(secret);
    if (!m) throw new Error(`API key secret has the wrong form`);
    const apiPub = publicOfSeed(b64u(m[2], 32));
    const id = 'ak_' + sha256(transcript('fxe/v1 api-key', apiPub)).subarray(0, 12).toString('hex');
    if (id !== key_id || `ak_${m[1]}` !== key_id) throw new Error(`API key id ${key_id} does not match its key (${id})`);
    return { keyId: key_id, scopes };
  });

  return {
    orgId,
    orgName: json.org_name,
    relayUrl: json.relay_url,
    fingerprint: fingerprintOf(identityPub),
    bundleIds: json.bundles.map((b) => b.bundle.bundle_id),
    apiKeys,
  };
}
