import fp from 'fastify-plugin'
import { newId, isId } from './keys.js'
import { InvalidToken } from './errors/errors.js'
import type { IssuedSession } from './sessions/store.js'

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

interface Signer {
  sign: (payload: object) => string
  verify: <T>(token: string) => T
}

function createTokens (jwt: Signer, accessTtl: number, refreshTtl: number) {
  function pair (userId: string, session: IssuedSession): TokenPair {
    const claims = { sub: userId, sid: session.sessionId, jti: newId() }
    return {
      access_token: jwt.sign(claims),
      token_type: 'Bearer',
      expires_in: accessTtl,
      refresh_token: session.refreshToken,
      refresh_expires_in: refreshTtl,
      session_id: session.sessionId
    }
  }

  /** The claims of a valid access token; its ids are checked before any key is built. */
  function verifyAccess (token: string): AccessClaims {
    let claims: AccessClaims
    try {
      claims = jwt.verify<AccessClaims>(token)
    } catch {
      throw new InvalidToken()
    }
    if (!isId(claims.sub) || !isId(claims.sid)) throw new InvalidToken()
    return claims
  }

  return { pair, verifyAccess }
}

export default fp(async function tokens (fastify) {
  const { ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL } = fastify.config
  fastify.decorate('tokens', createTokens(fastify.jwt, ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL))
}, { name: 'tokens', dependencies: ['jwt'] })
