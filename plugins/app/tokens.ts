import fp from 'fastify-plugin'
import { newId, isId } from './keys.js'
import { InvalidToken } from './errors/errors.js'
import type { IssuedSession } from './sessions/store.js'
import type { Keyring } from '../external/jwt/keyring.js'

declare module 'fastify' {
  interface FastifyInstance {
    tokens: ReturnType<typeof createTokens>
  }
}

export interface AccessClaims {
  sub: string
  sid: string
  jti: string
  iat: number
  exp: number
}

export interface TokenPair {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token: string
  refresh_expires_in: number
  session_id: string
}

interface TokenSettings {
  accessTtl: number
  refreshTtl: number
  clockSkewSeconds: number
}

const MAX_KID_LENGTH = 64
const MAX_HEADER_LENGTH = 1024

type Header = Record<string, unknown> | null

function parseHeader (encoded: string): Header {
  try {
    const header: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString())
    return typeof header === 'object' && header !== null && !Array.isArray(header)
      ? header as Record<string, unknown>
      : null
  } catch {
    return null
  }
}

/**
 * The protected header of a compact JWS, or null when it is not one. Genuine tokens share
 * a handful of headers (one per key), so parsed headers are remembered; the memory is
 * small and bounded, whatever headers a client makes up.
 */
function createHeaderReader (capacity = 64) {
  const seen = new Map<string, Header>()
  return function headerOf (token: string): Header {
    const end = token.indexOf('.')
    if (end <= 0 || end > MAX_HEADER_LENGTH) return null
    const encoded = token.slice(0, end)
    let header = seen.get(encoded)
    if (header === undefined) {
      header = parseHeader(encoded)
      if (seen.size >= capacity) seen.clear()
      seen.set(encoded, header)
    }
    return header
  }
}

const isNumericDate = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0

/** Claims of the exact shape latch issues; ids are checked before any key is built. */
function wellFormed (claims: Record<string, unknown>, skewSeconds: number): boolean {
  const now = Date.now() / 1000
  return isId(claims.sub) && isId(claims.sid) && isId(claims.jti) &&
    isNumericDate(claims.iat) && isNumericDate(claims.exp) &&
    (claims.nbf === undefined || isNumericDate(claims.nbf)) &&
    claims.iat <= now + skewSeconds
}

function createTokens (
  sign: (payload: object) => string, keyring: Keyring, settings: TokenSettings
) {
  const headerOf = createHeaderReader()

  function pair (userId: string, session: IssuedSession): TokenPair {
    return {
      access_token: sign({ sub: userId, sid: session.sessionId, jti: newId() }),
      token_type: 'Bearer',
      expires_in: settings.accessTtl,
      refresh_token: session.refreshToken,
      refresh_expires_in: settings.refreshTtl,
      session_id: session.sessionId
    }
  }

  /** The claims of a valid access token, or InvalidToken. */
  function verifyAccess (token: string): AccessClaims {
    const header = headerOf(token)
    const kid = header?.kid
    const key = typeof kid === 'string' && kid.length <= MAX_KID_LENGTH
      ? keyring.verifiers.get(kid)
      : undefined
    if (key === undefined || header?.alg !== key.algorithm) throw new InvalidToken()

    let claims: Record<string, unknown>
    try {
      claims = key.verify(token)
    } catch {
      throw new InvalidToken()
    }
    if (!wellFormed(claims, settings.clockSkewSeconds)) throw new InvalidToken()
    return claims as unknown as AccessClaims
  }

  return { pair, verifyAccess }
}

export default fp(async function tokens (fastify) {
  const { ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL, CLOCK_SKEW_SECONDS } = fastify.config
  const sign = (payload: object) => fastify.jwt.sign(payload)
  fastify.decorate('tokens', createTokens(sign, fastify.keyring, {
    accessTtl: ACCESS_TOKEN_TTL,
    refreshTtl: REFRESH_TOKEN_TTL,
    clockSkewSeconds: CLOCK_SKEW_SECONDS
  }))
}, { name: 'tokens', dependencies: ['jwt'] })
