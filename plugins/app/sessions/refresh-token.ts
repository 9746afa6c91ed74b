import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { isId } from '../keys.js'

// A refresh token is `<uid>.<sid>.<nonce>.<tag>`: the ids say which session it belongs to
// without a lookup, the nonce carries 256 random bits, and the tag (an HMAC under a key
// derived from the deployment's secret) proves that latch issued it. The tag is what lets
// latch tell an earlier token of a session, which ends the session, from a forgery, which
// changes nothing.

const NONCE = /^[A-Za-z0-9_-]{43}$/
const TAG_BYTES = 16

export interface RefreshToken {
  userId: string
  sessionId: string
  /** The token as the client sent it. */
  value: string
}

const deriveKey = (secret: string) =>
  Buffer.from(hkdfSync('sha256', secret, '', 'latch refresh tokens', 32))

/**
 * `secrets`: the current secret first, then retired ones. New tokens are tagged with the
 * current one; tokens tagged with a retired one are still accepted, so rotating the
 * secret signs nobody out.
 */
export function createRefreshTokens (secrets: string[]) {
  const keys = secrets.map(deriveKey)
  const [current] = keys
  if (current === undefined) throw new TypeError('a refresh token needs at least one secret')

  const mac = (text: string, key = current) => createHmac('sha256', key).update(text).digest()

  function mint (userId: string, sessionId: string, nonce: string, key = current): string {
    const body = `${userId}.${sessionId}.${nonce}`
    return `${body}.${mac(body, key).subarray(0, TAG_BYTES).toString('base64url')}`
  }

  const sameText = (a: string, b: string) =>
    a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

  function issue (userId: string, sessionId: string): string {
    return mint(userId, sessionId, randomBytes(32).toString('base64url'))
  }

  /**
   * The token that replaces `token`. It is derived, not random, so that a client retrying
   * a refresh gets the same successor without latch storing any secret.
   */
  function successor (token: RefreshToken): string {
    const nonce = mac(`successor:${token.value}`).toString('base64url')
    return mint(token.userId, token.sessionId, nonce)
  }

  /** A token latch issued, or null for anything else: garbage, forgeries, other keys. */
  function parse (value: string): RefreshToken | null {
    const [userId, sessionId, nonce, tag, ...rest] = value.split('.')
    if (rest.length > 0 || !isId(userId) || !isId(sessionId)) return null
    if (nonce === undefined || !NONCE.test(nonce) || tag === undefined) return null
    const issued = keys.some((key) => sameText(mint(userId, sessionId, nonce, key), value))
    return issued ? { userId, sessionId, value } : null
  }

  return { issue, successor, parse }
}

/** What the store keeps instead of the token: enough to compare, useless if stolen. */
export function hashToken (value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

export type RefreshTokens = ReturnType<typeof createRefreshTokens>
