import fp from 'fastify-plugin'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { InvalidToken, MalformedAuthorization, MissingToken } from './errors/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook of protected routes: a valid token of a live session, or an error. */
    authenticate: onRequestHookHandler
  }
  interface FastifyRequest {
    auth: Auth
  }
}

export interface Auth {
  userId: string
  sessionId: string
  username: string
}

// RFC 6750 section 2.1: the scheme, one or more spaces, then one b64token.
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i

function authorizationHeaders (request: FastifyRequest): number {
  // Node keeps only the first of repeated Authorization headers: count the raw ones.
  // The length test spares a lower-cased copy of every other header name.
  const raw = request.raw.rawHeaders
  let count = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    if (name?.length === 13 && name.toLowerCase() === 'authorization') count++
  }
  return count
}

/** The bearer token of a request, or the RFC 6750 error for its Authorization header. */
export function bearerToken (request: FastifyRequest): string {
  const header = request.headers.authorization
  if (header === undefined) throw new MissingToken()
  if (authorizationHeaders(request) > 1) throw new MalformedAuthorization()
  // Another scheme (Basic, …) is no bearer credential at all; "Bearer" done wrong is a
  // malformed request.
  if (!/^bearer\b/i.test(header)) throw new MissingToken()
  const match = BEARER.exec(header)
  if (match?.[1] === undefined) throw new MalformedAuthorization()
  return match[1]
}

export default fp(async function authenticate (fastify) {
  fastify.decorateRequest('auth', null as unknown as Auth)

  fastify.decorate('authenticate', async function authenticate (request: FastifyRequest) {
    const claims = fastify.tokens.verifyAccess(bearerToken(request))
    const session = await fastify.sessions.check(claims.sub, claims.sid)
    if (session === null) throw new InvalidToken()
    request.auth = { userId: claims.sub, sessionId: claims.sid, username: session.username }
  })
}, { name: 'authenticate', dependencies: ['tokens', 'sessions'] })
