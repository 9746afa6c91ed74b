import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { TooManyRequests } from './errors/errors.js'
import { normaliseUsername } from './users/username.js'

declare module 'fastify' {
  interface FastifyInstance {
    loginFailures: {
      /** Refuses the login with 429 while the account has too many recent failures. */
      check: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
      record: (request: FastifyRequest) => Promise<void>
    }
  }
}

const WINDOW_MS = 15 * 60_000

/**
 * Failed logins are counted per account, whatever address they come from: the answer to
 * credential stuffing spread over many addresses. Unknown names are counted too, so a
 * 429 never tells whether an account exists. Once the window passes, the owner can log
 * in again.
 */
export default fp(async function loginFailures (fastify) {
  const account = (request: FastifyRequest) => {
    const { username } = request.body as { username: string }
    return `account:${normaliseUsername(username) ?? '-'}`
  }
  const limiter = fastify.createRateLimit({
    max: fastify.config.LOGIN_FAILURES_PER_ACCOUNT,
    timeWindow: WINDOW_MS,
    keyGenerator: account
  })

  fastify.decorate('loginFailures', {
    async check (request: FastifyRequest, reply: FastifyReply) {
      const status = await limiter(request, { increment: false })
      if (status.isAllowed || status.remaining > 0) return
      const route = request.routeOptions.url ?? ''
      fastify.audit(request, 'rate_limit.hit', { route, limit: 'account' })
      reply.header('retry-after', String(Math.max(1, status.ttlInSeconds)))
      throw new TooManyRequests()
    },
    async record (request: FastifyRequest) {
      await limiter(request)
    }
  })
}, { name: 'login-failures', dependencies: ['rate-limit', 'audit'] })
