import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createVerifier } from 'fast-jwt'

// Every key latch signs or verifies access tokens with, each under its own `kid` and each
// pinned to exactly one algorithm (RFC 8725 section 3.1). A token names its key by `kid`;
// nothing in a token can bring a key of its own (`jwk`, `jku`, `x5u`, `x5c` are ignored).

export type Algorithm = 'HS256' | 'EdDSA' | 'ES256'

export interface KeySettings {
  /** HS256 secret; signs unless a private key is configured. */
  secret?: string
  /** Retired HS256 secrets, still accepted until their tokens have expired. */
  previousSecrets: string[]
  /** PEM private key (Ed25519 or P-256); signs when set. */
  privateKeyFile?: string
  /** PEM keys of retired asymmetric signing keys, still accepted. */
  publicKeyFiles: string[]
  issuer: string
  audience: string
  tokenType: string
  clockSkewSeconds: number
}

export interface SigningKey {
  kid: string
  algorithm: Algorithm
  key: string | { private: string, public: string }
}

export type Verify = (token: string) => Record<string, unknown>

export interface Keyring {
  signing: SigningKey
  /** kid → the verifier of that key, which accepts only that key's algorithm. */
  verifiers: Map<string, { algorithm: Algorithm, verify: Verify }>
  /** Public keys for other services, as JWKs (RFC 7517); empty with HS256 only. */
  jwks: JsonWebKey[]
  /** The HS256 secrets, current first: they also key the tags of refresh tokens. */
  secrets: string[]
}

export class KeyError extends Error {
  override name = 'KeyError'
}

const REQUIRED_CLAIMS = ['sub', 'sid', 'jti', 'iat', 'exp', 'iss', 'aud']

function digest (text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

/** A kid for a secret: a truncated hash says which secret without revealing it. */
export function secretKid (secret: string): string {
  return `hs256-${digest(`latch kid:${secret}`).slice(0, 16)}`
}

/** RFC 7638 thumbprint: the members a key type requires, in lexical order. */
function thumbprint (jwk: JsonWebKey): string {
  const members = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x']
  const canonical = Object.fromEntries(members.map((name) => [name, jwk[name]]))
  return digest(JSON.stringify(canonical))
}

function algorithmOf (key: KeyObject, file: string): Algorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return 'ES256'
  }
  throw new KeyError(`${file}: only Ed25519 (EdDSA) and P-256 (ES256) keys are supported`)
}

function readPem (file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new KeyError(`cannot read key file ${file}: ${(err as Error).message}`)
  }
}

interface PublicKeyEntry { kid: string, algorithm: Algorithm, pem: string, jwk: JsonWebKey }

function publicKeyOf (file: string): PublicKeyEntry {
  const pem = readPem(file)
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch {
    throw new KeyError(`${file} holds no usable PEM key`)
  }
  const algorithm = algorithmOf(key, file)
  const jwk = key.export({ format: 'jwk' })
  const kid = thumbprint(jwk)
  const publicPem = key.export({ format: 'pem', type: 'spki' }).toString()
  return { kid, algorithm, pem: publicPem, jwk: { ...jwk, kid, alg: algorithm, use: 'sig' } }
}

function verifierFor (key: string, algorithm: Algorithm, settings: KeySettings): Verify {
  return createVerifier({
    key,
    algorithms: [algorithm],
    allowedIss: settings.issuer,
    allowedAud: settings.audience,
    requiredClaims: REQUIRED_CLAIMS,
    checkTyp: settings.tokenType,
    clockTolerance: settings.clockSkewSeconds * 1000,
    // A verified signature may be remembered: the session is still checked per request.
    cache: 10_000
  })
}

function addSecrets (keyring: Keyring, settings: KeySettings): void {
  for (const secret of keyring.secrets) {
    const verify = verifierFor(secret, 'HS256', settings)
    keyring.verifiers.set(secretKid(secret), { algorithm: 'HS256', verify })
  }
  if (settings.secret !== undefined) {
    keyring.signing = { kid: secretKid(settings.secret), algorithm: 'HS256', key: settings.secret }
  }
}

function addKeyFiles (keyring: Keyring, settings: KeySettings): void {
  const { privateKeyFile, publicKeyFiles } = settings
  const files = privateKeyFile === undefined ? publicKeyFiles : [privateKeyFile, ...publicKeyFiles]
  for (const file of files) {
    const { kid, algorithm, pem, jwk } = publicKeyOf(file)
    keyring.verifiers.set(kid, { algorithm, verify: verifierFor(pem, algorithm, settings) })
    keyring.jwks.push(jwk)
    if (file === privateKeyFile) {
      keyring.signing = { kid, algorithm, key: { private: readPem(file), public: pem } }
    }
  }
}

/**
 * The private key file, when set, signs; otherwise the secret does. Every configured key
 * verifies, so a new signing key can be introduced, and an old one retired once its
 * tokens have expired, without logging anyone out.
 */
export function loadKeyring (settings: KeySettings): Keyring {
  if (settings.secret === undefined && settings.privateKeyFile === undefined) {
    throw new KeyError('no signing key: set JWT_SECRET or JWT_PRIVATE_KEY_FILE')
  }
  const secrets = settings.secret === undefined
    ? settings.previousSecrets
    : [settings.secret, ...settings.previousSecrets]
  const keyring: Keyring = {
    signing: { kid: '', algorithm: 'HS256', key: '' },
    verifiers: new Map(),
    jwks: [],
    secrets
  }
  addSecrets(keyring, settings)
  addKeyFiles(keyring, settings)
  return keyring
}
