import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import { TooManyRequests } from '../app/errors/errors.js'

// Limits are counted in the cluster, so every instance of latch shares them. Routes opt in
// with `config.rateLimit`; nothing is limited globally.
export default fp(async function limits (fastify) {
  await fastify.register(rateLimit, {
    global: false,
    redis: fastify.cluster,
    nameSpace: `${fastify.config.KEY_PREFIX}rate:`,
    // The limited routes need the cluster themselves and answer 503 when it is down; a
    // limit that cannot be counted must not turn that into a 500.
    skipOnError: true,
    errorResponseBuilder: () => new TooManyRequests(),
    // Each refusal is a security event. The audit plugin loads after this one, so it is
    // looked up when a request is refused.
    onExceeded: (request) => {
      const route = request.routeOptions.url ?? ''
      request.server.audit(request, 'rate_limit.hit', { route, limit: 'route' })
    }
  })
}, { name: 'rate-limit', dependencies: ['config', 'redis'] })
