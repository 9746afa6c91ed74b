import path from 'node:path'
import { fileURLToPath } from 'node:url'
import AutoLoad from '@fastify/autoload'
import { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { ConfigOptions } from './plugins/external/config.js'

const here = path.dirname(fileURLToPath(import.meta.url))

/** Drops the query string: a client may have put a token there. */
function pathOnly (url: string | undefined): string {
  return url === undefined ? '' : url.split('?', 1)[0] ?? ''
}

/**
 * TRUST_PROXY: unset or "false" trusts no proxy, so X-Forwarded-For is ignored and a
 * client cannot pick the address its rate limits are counted under.
 */
export function trustProxy (value: string | undefined): boolean | string | string[] {
  if (value === undefined || value === '' || value === 'false') return false
  if (value === 'true') return true
  // A hop count: Fastify takes it as a number at runtime, its types only as a string.
  return /^[0-9]+$/.test(value) ? Number(value) as unknown as string : value.split(',')
}

export function requestLogging (enabled: boolean): LogController {
  return new LogController({ disableRequestLogging: !enabled })
}

/** Server options; fastify-cli reads them with `-o`, the tests pass them to Fastify. */
export const options: FastifyServerOptions = {
  // Every body latch accepts is a few hundred bytes; 8 KiB leaves room for the longest
  // passphrase in any script, and nothing for a flood.
  bodyLimit: 8192,
  trustProxy: trustProxy(process.env.TRUST_PROXY),
  // Two log lines per request would cost more than the rest of a /me request; refusals,
  // faults and security events are logged where they happen. LOG_REQUESTS=true brings the
  // access log back.
  logController: requestLogging(process.env.LOG_REQUESTS === 'true'),
  ajv: {
    customOptions: {
      // Refuse unknown properties and wrong types instead of silently fixing the body.
      removeAdditional: false,
      coerceTypes: false
    }
  },
  logger: {
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    serializers: {
      req: (request) => ({
        method: request.method,
        url: pathOnly(request.url),
        remoteAddress: request.ip
      })
    }
  }
}

export type AppOptions = ConfigOptions

export default async function app (fastify: FastifyInstance, opts: AppOptions) {
  // Every body latch takes is JSON; anything else is refused with 415, not parsed.
  fastify.removeContentTypeParser('text/plain')

  // Third-party plugins (config first: everything else reads it), then latch's own.
  await fastify.register(AutoLoad, { dir: path.join(here, 'plugins/external'), options: opts })
  await fastify.register(AutoLoad, { dir: path.join(here, 'plugins/app'), options: opts })

  // A folder whose name is in parentheses groups routes without adding a URL segment:
  // `routes/(protected)` holds every route behind the authenticate hook.
  await fastify.register(AutoLoad, {
    dir: path.join(here, 'routes'),
    autoHooks: true,
    cascadeHooks: true,
    dirNameRoutePrefix: (_parent: string, folder: string) =>
      folder.startsWith('(') ? false : folder,
    options: opts
  })
}
