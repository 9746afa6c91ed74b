import t from 'tap'
import { build, get, signedIn, TEST_SECRET } from '../helpers/app.js'
import { decodePart, forge, keyPair } from '../helpers/jws.js'
import { snapshot } from '../helpers/state.js'

// Forged, tampered and malformed access tokens. Each must get exactly 401 with the
// invalid_token challenge and change nothing in the cluster. The genuine token's session
// is alive throughout, so a token accepted by mistake would answer 200.

const INVALID_TOKEN = 'Bearer realm="latch", error="invalid_token"'

t.test('forged access tokens', async (t) => {
  const server = await build(t)
  const user = await signedIn(server)
  const other = await signedIn(server)
  const genuine = user.access_token
  const header = decodePart(genuine, 0)
  const claims = decodePart(genuine, 1)
  const now = Math.floor(Date.now() / 1000)
  const ed = keyPair('ed25519')
  const ec = keyPair('p256')
  const rsa = keyPair('rsa')
  const attackerJwk = ed.publicKey.export({ format: 'jwk' })
  const [head, body] = genuine.split('.')
  const sign = (h: object, c: object) =>
    forge({ ...header, ...h }, { ...claims, ...c }, TEST_SECRET)
  const without = (name: string) => Object.fromEntries(
    Object.entries(claims).filter(([claim]) => claim !== name))

  const cases: Array<[string, string]> = [
    ['alg none', forge({ ...header, alg: 'none' }, claims)],
    ['alg None', forge({ ...header, alg: 'None' }, claims)],
    ['alg NONE', forge({ ...header, alg: 'NONE' }, claims)],
    ['alg nOnE', forge({ ...header, alg: 'nOnE' }, claims)],
    ['alg none with a signature', `${forge({ ...header, alg: 'none' }, claims)}c2ln`],
    ['HS384 with the real secret', forge({ ...header, alg: 'HS384' }, claims, TEST_SECRET)],
    ['HS512 with the real secret', forge({ ...header, alg: 'HS512' }, claims, TEST_SECRET)],
    ['HS256 with another secret', forge(header, claims, `${TEST_SECRET}-not`)],
    ['RS256 with an attacker key', forge({ ...header, alg: 'RS256' }, claims, rsa.privateKey)],
    ['ES256 with an attacker key', forge({ ...header, alg: 'ES256' }, claims, ec.privateKey)],
    ['EdDSA with an attacker key', forge({ ...header, alg: 'EdDSA' }, claims, ed.privateKey)],
    ['an embedded jwk of the attacker',
      forge({ ...header, alg: 'EdDSA', jwk: attackerJwk }, claims, ed.privateKey)],
    ['a jku pointing at attacker keys',
      forge({ ...header, jku: 'http://127.0.0.1:9/k' }, claims, 'x')],
    ['an x5u pointing at attacker keys',
      forge({ ...header, x5u: 'http://127.0.0.1:9/c' }, claims, 'x')],
    ['an x5c chain of the attacker', forge({ ...header, x5c: ['MIIB'] }, claims, 'x')],
    ['an unknown kid', sign({ kid: 'hs256-unknownkey000000' }, {})],
    ['a kid of 1000 characters', sign({ kid: 'k'.repeat(1000) }, {})],
    ['a kid that is a path', forge({ ...header, kid: '../../../../dev/null' }, claims, '')],
    ['a kid that is a number', sign({ kid: 1 }, {})],
    ['no kid', forge({ alg: 'HS256', typ: header.typ }, claims, TEST_SECRET)],
    ['crit with an unknown extension', sign({ crit: ['x-latch'], 'x-latch': 1 }, {})],
    ['crit naming a registered claim', sign({ crit: ['exp'] }, {})],
    ['typ JWT', sign({ typ: 'JWT' }, {})],
    ['no typ', forge({ alg: header.alg, kid: header.kid }, claims, TEST_SECRET)],
    ['typ of a refresh token', sign({ typ: 'rt+jwt' }, {})],
    ['another issuer', sign({}, { iss: 'evil' })],
    ['another audience', sign({}, { aud: 'another-service' })],
    ['an audience list without latch', sign({}, { aud: ['a', 'b'] })],
    ['expired', sign({}, { iat: now - 7200, exp: now - 3600 })],
    ['exp as a string', sign({}, { exp: String(now + 3600) })],
    ['exp as a float string', sign({}, { exp: `${now + 3600}.5` })],
    ['no exp', forge(header, without('exp'), TEST_SECRET)],
    ['iat as a string', sign({}, { iat: String(now) })],
    ['iat an hour ahead', sign({}, { iat: now + 3600, exp: now + 7200 })],
    ['nbf an hour ahead', sign({}, { nbf: now + 3600 })],
    ['no iat', forge(header, without('iat'), TEST_SECRET)],
    ['no sub', forge(header, without('sub'), TEST_SECRET)],
    ['a sub with a hash tag', sign({}, { sub: `{${String(claims.sub)}}` })],
    ['a sub that is a key pattern', sign({}, { sub: '*' })],
    ['a sub that is a number', sign({}, { sub: 12345 })],
    ['no sid', forge(header, without('sid'), TEST_SECRET)],
    ['a sid with a colon', sign({}, { sid: `x:${String(claims.sid).slice(2)}` })],
    ['no jti', forge(header, without('jti'), TEST_SECRET)],
    ['another user\'s sub under the original signature',
      `${head}.${Buffer.from(JSON.stringify({ ...claims, sub: other.id })).toString('base64url')}.${
        genuine.split('.')[2]}`],
    ['the signature stripped', `${head}.${body}.`],
    ['an extra segment', `${genuine}.${body}`],
    ['two segments', `${head}.${body}`],
    ['a header that is not JSON', `${Buffer.from('{alg').toString('base64url')}.${body}.x`],
    ['a header that is an array', `${Buffer.from('["HS256"]').toString('base64url')}.${body}.x`],
    ['an 8 KiB token', sign({ pad: 'p'.repeat(8000) }, {})],
    ['garbage', 'not-a-token-at-all']
  ]

  const before = await snapshot(server)
  for (const [name, token] of cases) {
    t.test(name, async (t) => {
      const res = await get(server, '/me', token)
      t.equal(res.statusCode, 401)
      t.equal(res.headers['www-authenticate'], INVALID_TOKEN)
      t.equal(res.json().code, 'INVALID_TOKEN')
      t.same(await snapshot(server), before, 'nothing changed in the cluster')
    })
  }

  t.test('control: the same forging with nothing changed is accepted', async (t) => {
    // Proves each case above fails for its own change, not for a flaw in the forging.
    t.equal((await get(server, '/me', sign({}, {}))).statusCode, 200)
    t.equal((await get(server, '/me', genuine)).statusCode, 200)
  })
})
