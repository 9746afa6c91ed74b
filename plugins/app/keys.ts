import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    keys: Keys
  }
}

/** Ids are 128 random bits in base64url: 22 characters, never user input. */
const ID_FORMAT = /^[A-Za-z0-9_-]{22}$/

export function newId (): string {
  return randomBytes(16).toString('base64url')
}

export function isId (value: unknown): value is string {
  return typeof value === 'string' && ID_FORMAT.test(value)
}

function checked (id: string): string {
  if (!isId(id)) throw new TypeError('refusing to build a Redis key from a malformed id')
  return id
}

/**
 * Every Redis key latch uses. A user's keys carry `{uid}` as their hash tag, so all of
 * them live in one slot and multi-key scripts on them never cross slots.
 */
export function createKeys (prefix: string) {
  return {
    user: (uid: string) => `${prefix}user:{${checked(uid)}}`,
    /** `name` must already be normalised: see `normaliseUsername`. */
    username: (name: string) => `${prefix}username:${name}`,
    session: (uid: string, sid: string) => `${prefix}session:{${checked(uid)}}:${checked(sid)}`,
    /** The prefix of all of a user's session keys, for scripts that walk the index. */
    sessionPrefix: (uid: string) => `${prefix}session:{${checked(uid)}}:`,
    sessions: (uid: string) => `${prefix}sessions:{${checked(uid)}}`
  }
}

export type Keys = ReturnType<typeof createKeys>

export default fp(async function keys (fastify) {
  fastify.decorate('keys', createKeys(fastify.config.KEY_PREFIX))
}, { name: 'keys', dependencies: ['config'] })
