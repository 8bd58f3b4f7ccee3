// Matrix signing and hashing against the specification's published vectors.
import t from 'tap';
import { lookupHash } from '../../src/identity/hashing.ts';
import { redactAddress } from '../../src/identity/invites.ts';
import { canonicalJson, decodeBase64, signJson, signingKeyFromSeed, verifySignedJson } from '../../src/identity/signing.ts';

// The spec appendix's signing key (its seed's last base64 character carries spare bits).
const key = signingKeyFromSeed(decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1'), 'ed25519:1');

t.test('the signing key of the vectors', async (t) => {
  t.equal(key.publicKey, 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI');
});

t.test('signing {} reproduces the spec vector', async (t) => {
  t.same(signJson({}, 'domain', key), {
    signatures: { domain: { 'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ' } },
  });
});

t.test('signing {"one": 1, "two": "Two"} reproduces the spec vector', async (t) => {
  const signed = signJson({ one: 1, two: 'Two' }, 'domain', key);
  t.same(signed, {
    one: 1,
    two: 'Two',
    signatures: { domain: { 'ed25519:1': 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw' } },
  });
  t.ok(verifySignedJson(signed, 'domain', 'ed25519:1', key.publicKey), 'verifies');
  t.notOk(verifySignedJson({ ...signed, two: 'Three' }, 'domain', 'ed25519:1', key.publicKey), 'a changed field does not verify');
  t.same(Object.keys(signJson({ ...signed, unsigned: { age: 1 } }, 'other', key).signatures).sort(), ['domain', 'other'], 'signatures merge');
});

t.test('canonical JSON', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [1, 'x'], c: null } }), '{"a":{"c":null,"d":[1,"x"]},"b":1}');
  t.equal(canonicalJson({ 'é': '日本語', q: '"\\\n\u0001/' }), '{"q":"\\"\\\\\\n\\u0001/","é":"日本語"}', 'raw UTF-8, short and lower-case escapes, / unescaped');
  t.throws(() => canonicalJson({ x: 1.5 }), 'floats are refused');
});

t.test('lookup hashes of the spec', async (t) => {
  t.equal(lookupHash('email', 'alice@example.com', 'matrixrocks'), '4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc');
  t.equal(lookupHash('email', 'bob@example.com', 'matrixrocks'), 'LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8');
  t.equal(lookupHash('msisdn', '18005552067', 'matrixrocks'), 'nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I');
});

t.test('redacted display names', async (t) => {
  t.equal(redactAddress('foo@bar.baz'), 'f...@b...', "the seeds' example");
  t.equal(redactAddress('a@b.c'), '...@b...');
  t.equal(redactAddress('alice@example.org', 3), 'ali...@exa...', "Sydent's default of 3");
});
