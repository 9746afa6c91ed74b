import t from 'tap'
import { createPublicKey, verify as verifySignature } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { build, get, signedIn, testEnv, TEST_SECRET } from '../helpers/app.js'
import { decodePart, forge, keyPair } from '../helpers/jws.js'

const OLD_SECRET = `${TEST_SECRET}-old`
const NEW_SECRET = `${TEST_SECRET}-new`

async function keyFiles (type: 'ed25519' | 'p256' | 'rsa') {
  const dir = await mkdtemp(path.join(tmpdir(), 'latch-keys-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const { privateKey, publicKey } = keyPair(type)
  const privateFile = path.join(dir, 'private.pem')
  const publicFile = path.join(dir, 'public.pem')
  await writeFile(privateFile, privateKey.export({ format: 'pem', type: 'pkcs8' }))
  await writeFile(publicFile, publicKey.export({ format: 'pem', type: 'spki' }))
  return { privateFile, publicFile, publicKey }
}

async function jwks (server: FastifyInstance) {
  return await get(server, '/.well-known/jwks.json')
}

t.test('rotating an HS256 secret logs nobody out', async (t) => {
  const shared = testEnv()
  const before = await build(t, { ...shared, JWT_SECRET: OLD_SECRET })
  const user = await signedIn(before)

  const during = await build(t, {
    ...shared, JWT_SECRET: NEW_SECRET, JWT_PREVIOUS_SECRETS: OLD_SECRET
  })
  t.equal((await get(during, '/me', user.access_token)).statusCode, 200, 'old tokens verify')
  const refreshed = await during.inject({
    method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refresh_token }
  })
  t.equal(refreshed.statusCode, 200, 'old refresh tokens rotate')
  const fresh = refreshed.json()
  t.not(decodePart(fresh.access_token, 0).kid, decodePart(user.access_token, 0).kid,
    'new tokens are signed with the new secret')

  const after = await build(t, { ...shared, JWT_SECRET: NEW_SECRET })
  t.equal((await get(after, '/me', fresh.access_token)).statusCode, 200)
  t.equal((await get(after, '/me', user.access_token)).statusCode, 401,
    'once retired, the old secret verifies nothing')
})

for (const [type, alg] of [['ed25519', 'EdDSA'], ['p256', 'ES256']] as const) {
  t.test(`${alg} from a key file, published as a JWKS`, async (t) => {
    const keys = await keyFiles(type)
    const server = await build(t, testEnv({ JWT_PRIVATE_KEY_FILE: keys.privateFile }))
    const user = await signedIn(server)
    const header = decodePart(user.access_token, 0)
    t.equal(header.alg, alg)
    t.equal((await get(server, '/me', user.access_token)).statusCode, 200)

    const res = await jwks(server)
    t.equal(res.statusCode, 200)
    const [jwk] = res.json().keys
    t.match(jwk, { kid: header.kid, alg, use: 'sig' })
    t.notOk('d' in jwk, 'no private part')

    // Another service verifies the token with nothing but the published key.
    const [head, body, signature = ''] = user.access_token.split('.')
    const key = createPublicKey({ key: jwk, format: 'jwk' })
    const options = alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' as const } : key
    t.ok(verifySignature(alg === 'ES256' ? 'sha256' : null, Buffer.from(`${head}.${body}`),
      options, Buffer.from(signature, 'base64url')))

    // The public key used as an HMAC secret (algorithm confusion) is refused.
    const pem = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString()
    const confused = forge({ ...header, alg: 'HS256' }, decodePart(user.access_token, 1), pem)
    t.equal((await get(server, '/me', confused)).statusCode, 401)
  })
}

t.test('a new key pair with the old one retired but still accepted', async (t) => {
  const old = await keyFiles('ed25519')
  const next = await keyFiles('p256')
  const shared = testEnv()
  const before = await build(t, { ...shared, JWT_PRIVATE_KEY_FILE: old.privateFile })
  const user = await signedIn(before)
  const after = await build(t, {
    ...shared, JWT_PRIVATE_KEY_FILE: next.privateFile, JWT_PUBLIC_KEY_FILES: old.publicFile
  })
  t.equal((await get(after, '/me', user.access_token)).statusCode, 200)
  t.equal((await jwks(after)).json().keys.length, 2, 'both keys are published')
  const fresh = await signedIn(after)
  t.equal(decodePart(fresh.access_token, 0).alg, 'ES256')
})

t.test('HS256 only: no public keys to publish', async (t) => {
  const server = await build(t)
  const res = await jwks(server)
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'NOT_FOUND')
})

t.test('unusable key files stop the server at start, naming the file', async (t) => {
  const rsa = await keyFiles('rsa')
  await t.rejects(build(t, testEnv({ JWT_PRIVATE_KEY_FILE: rsa.privateFile })),
    { message: /private\.pem: only Ed25519 \(EdDSA\) and P-256 \(ES256\)/ })
  await t.rejects(build(t, testEnv({ JWT_PUBLIC_KEY_FILES: '/nonexistent/key.pem' })),
    { message: /cannot read key file \/nonexistent\/key\.pem/ })
})
