import { createRequire } from 'node:module'
import fp from 'fastify-plugin'
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import { TooManyRequests } from '../app/errors/errors.js'
import { createGuard, type Guard } from '../app/cluster-calls.js'
import type { RedisClient } from './redis.js'

type Callback = (err: Error | null, result: unknown) => void

interface Store {
  incr: (key: string, cb: Callback, timeWindow: number, max: number) => void
  read: (key: string, cb: Callback, timeWindow: number, max: number) => void
  child: (routeOptions: unknown) => Store
}

// The plugin's own Redis store, which its package does not export as a module.
const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore.js') as
  new (continueExceeding: boolean, backoff: boolean, redis: RedisClient, prefix: string) => Store

/**
 * The Redis store under latch's deadline: a limit the cluster cannot count within
 * CLUSTER_TIMEOUT_MS is a prompt 503, never a request held for ioredis's retries.
 */
class GuardedStore implements Store {
  constructor (private readonly inner: Store, private readonly guard: Guard) {}

  private run (method: 'incr' | 'read', key: string, cb: Callback, window: number, max: number) {
    const counted = new Promise((resolve, reject) => {
      this.inner[method](key, (err, result) => { err === null ? resolve(result) : reject(err) },
        window, max)
    })
    this.guard(counted).then((result) => cb(null, result), (err: Error) => cb(err, null))
  }

  incr (key: string, cb: Callback, window: number, max: number) {
    this.run('incr', key, cb, window, max)
  }

  read (key: string, cb: Callback, window: number, max: number) {
    this.run('read', key, cb, window, max)
  }

  child (routeOptions: unknown): Store {
    return new GuardedStore(this.inner.child(routeOptions), this.guard)
  }
}

// Limits are counted in the cluster, so every instance of latch shares them. Routes opt in
// with `config.rateLimit`; nothing is limited globally.
export default fp(async function limits (fastify) {
  const { KEY_PREFIX, CLUSTER_TIMEOUT_MS } = fastify.config
  const guard = createGuard(CLUSTER_TIMEOUT_MS)
  fastify.addHook('onClose', async () => guard.stop())
  const store = new GuardedStore(
    new RedisStore(false, false, fastify.cluster, `${KEY_PREFIX}rate:`), guard)

  await fastify.register(rateLimit, {
    global: false,
    // The plugin builds its store with `new`; a constructor returning an object yields it.
    store: function sharedStore () { return store } as unknown as FastifyRateLimitStoreCtor,
    // A limit that cannot be counted fails closed, as a 503 (the guard's error).
    skipOnError: false,
    errorResponseBuilder: () => new TooManyRequests(),
    // Each refusal is a security event. The audit plugin loads after this one, so it is
    // looked up when a request is refused.
    onExceeded: (request) => {
      const route = request.routeOptions.url ?? ''
      request.server.audit(request, 'rate_limit.hit', { route, limit: 'route' })
    }
  })
}, { name: 'rate-limit', dependencies: ['config', 'redis'] })
