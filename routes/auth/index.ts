import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { isId } from '../../plugins/app/keys.js'
import { normaliseUsername } from '../../plugins/app/users/username.js'
import {
  InvalidCredentials, InvalidRefreshToken
} from '../../plugins/app/errors/errors.js'
import { Credentials, TokenPair, errors } from '../schemas.js'

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS

/** Refreshes are limited per session (uid.sid of the token), or per address for junk. */
function sessionOf (request: FastifyRequest): string {
  const token = (request.body as { refresh_token?: unknown } | undefined)?.refresh_token
  const [userId, sessionId] = typeof token === 'string' ? token.split('.', 2) : []
  return isId(userId) && isId(sessionId) ? `${userId}.${sessionId}` : `ip:${request.ip}`
}

const auth: FastifyPluginAsyncTypebox = async (fastify) => {
  const { LOGIN_RATE_PER_IP, REGISTER_RATE_PER_IP, REFRESH_RATE_PER_SESSION } = fastify.config

  function refuseLogin (request: FastifyRequest, username: string): never {
    fastify.audit(request, 'login.failed', { username: normaliseUsername(username) })
    throw new InvalidCredentials()
  }

  fastify.post('/register', {
    config: { rateLimit: { max: REGISTER_RATE_PER_IP, timeWindow: HOUR_MS } },
    schema: {
      tags: ['auth'],
      summary: 'Create an account',
      body: Credentials,
      response: {
        201: Type.Object({ id: Type.String(), username: Type.String() }, {
          examples: [{ id: 'kykyO6VVPomnyW_cldMXEQ', username: 'alice' }]
        }),
        ...errors(400, 409, 429, 503)
      }
    }
  }, async (request, reply) => {
    const { username, password } = request.body

    const user = await fastify.users.register(username, password)

    fastify.audit(request, 'account.created', { userId: user.id })
    return reply.code(201).send(user)
  })

  fastify.post('/login', {
    config: { rateLimit: { max: LOGIN_RATE_PER_IP, timeWindow: MINUTE_MS } },
    schema: {
      tags: ['auth'],
      summary: 'Exchange a username and password for a token pair',
      body: Credentials,
      response: { 200: TokenPair, ...errors(400, 401, 429, 503) }
    }
  }, async (request, reply) => {
    const { username, password } = request.body

    await fastify.loginFailures.check(request, reply)
    const user = await fastify.users.authenticate(username, password)
    if (user === null) {
      await fastify.loginFailures.record(request)
      return refuseLogin(request, username)
    }

    const session = await fastify.sessions.create({
      userId: user.id,
      username: user.username,
      credential: user.credential,
      userAgent: (request.headers['user-agent'] ?? '').slice(0, 256),
      ip: request.ip
    })
    // The password changed or the account was deleted while it was being checked.
    if (session === null) return refuseLogin(request, username)

    fastify.audit(request, 'login.succeeded', { userId: user.id, sessionId: session.sessionId })
    return fastify.tokens.pair(user.id, session)
  })

  fastify.post('/refresh', {
    config: {
      rateLimit: {
        max: REFRESH_RATE_PER_SESSION,
        timeWindow: MINUTE_MS,
        keyGenerator: sessionOf,
        // Counted once the body is parsed: the session comes from the token in it.
        hook: 'preHandler'
      }
    },
    schema: {
      tags: ['auth'],
      summary: 'Exchange a refresh token for a new token pair; the old one stops working',
      description: 'A retry of the same token within REFRESH_GRACE_SECONDS gets the same ' +
        'new refresh token. Presenting an already-rotated token later ends the session.',
      body: Type.Object({
        refresh_token: Type.String({ minLength: 1, maxLength: 512 })
      }, {
        additionalProperties: false,
        examples: [{
          refresh_token: 'kykyO6VVPomnyW_cldMXEQ.S_OU8y4axtwhnwqjInDbVA.' +
            'q0bR3x3NnYk1Vd2Jh9uJ8sGm1pTj0f2Q4y5Z6a7B8c9'
        }]
      }),
      response: { 200: TokenPair, ...errors(400, 401, 429, 503) }
    }
  }, async (request) => {
    const rotation = await fastify.sessions.rotate(request.body.refresh_token)

    fastify.metrics.refreshes.inc(rotation.outcome)
    if (rotation.outcome === 'reused' || rotation.outcome === 'retried') {
      const { userId, sessionId, outcome } = rotation
      const cause = outcome === 'reused' ? 'theft' : 'retry'
      fastify.audit(request, 'refresh.reused', { userId, sessionId, cause })
    }
    if (!('refreshToken' in rotation)) throw new InvalidRefreshToken()

    const { userId, sessionId, refreshToken } = rotation
    return fastify.tokens.pair(userId, { sessionId, refreshToken })
  })
}

export default auth
