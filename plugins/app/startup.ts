import type { AddressInfo } from 'node:net'
import fp from 'fastify-plugin'
import type { Config } from '../external/config.js'

// One line when the server listens, with what someone starting latch wants to check:
// where it answers, which cluster it uses, and whether tokens outlive a restart.

/** A URL per address; a Unix socket or pipe is a path already. */
function urlOf (where: AddressInfo | string): string {
  if (typeof where === 'string') return where
  const { address, family, port } = where
  return family === 'IPv6' ? `http://[${address}]:${port}` : `http://${address}:${port}`
}

/** The seed nodes, or the words "single node": a REDIS_URL may hold a password. */
export function clusterOf (config: Config): string[] | string {
  return config.REDIS_URL === undefined
    ? config.REDIS_CLUSTER_NODES.split(',')
    : 'single node (REDIS_URL)'
}

export function secretOf (config: Config): string {
  return config.JWT_SECRET_GENERATED
    ? 'development: random for this process, tokens die with it'
    : 'configured'
}

export default fp(async function startup (fastify) {
  fastify.addHook('onListen', function announce (done) {
    const { config } = fastify
    fastify.log.info({
      urls: fastify.addresses().map(urlOf),
      cluster: clusterOf(config),
      keyPrefix: config.KEY_PREFIX,
      secret: secretOf(config)
    }, 'latch is listening')
    done()
  })
}, { name: 'startup', dependencies: ['config'] })
