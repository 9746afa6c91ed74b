import { createHmac, generateKeyPairSync, sign as signWith, type KeyObject } from 'node:crypto'

// Hand-made JWS for hostile tests: any header, any payload, any algorithm.

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

export function decodePart (token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString())
}

const HMAC: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }

/** Signs `header`.`payload` as `header.alg` says, with `key` (a secret or a private key). */
export function forge (
  header: Record<string, unknown>, payload: Record<string, unknown>, key?: string | KeyObject
): string {
  const input = `${encode(header)}.${encode(payload)}`
  const alg = String(header.alg)
  if (key === undefined) return `${input}.`
  if (typeof key === 'string' || HMAC[alg] !== undefined) {
    const hmac = createHmac(HMAC[alg] ?? 'sha256', typeof key === 'string' ? key : key.export())
    return `${input}.${hmac.update(input).digest('base64url')}`
  }
  const hash = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`
  const options = alg.startsWith('ES') ? { key, dsaEncoding: 'ieee-p1363' as const } : key
  return `${input}.${signWith(hash, Buffer.from(input), options).toString('base64url')}`
}

export function keyPair (type: 'ed25519' | 'p256' | 'rsa') {
  if (type === 'ed25519') return generateKeyPairSync('ed25519')
  if (type === 'p256') return generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  return generateKeyPairSync('rsa', { modulusLength: 2048 })
}
