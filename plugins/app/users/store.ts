import { randomBytes } from 'node:crypto'
import { hash, verify, Algorithm, type Options } from '@node-rs/argon2'
import type { RedisClient } from '../../external/redis.js'
import { newId, type Keys } from '../keys.js'
import { fromCluster, InvalidUsername, UsernameTaken } from '../errors/errors.js'
import { normaliseUsername } from './username.js'

// OWASP's baseline for argon2id: about 12 ms per hash here, off the event loop.
const ARGON2: Options = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2 }

export interface User {
  id: string
  username: string
}

export async function createUserStore (redis: RedisClient, keys: Keys) {
  // Unknown usernames are checked against this hash so that they cost what a wrong
  // password costs, and the two cannot be told apart by timing.
  const decoyHash = await hash(randomBytes(32), ARGON2)

  async function register (rawName: string, password: string): Promise<User> {
    const username = normaliseUsername(rawName)
    if (username === null) throw new InvalidUsername()
    const passwordHash = await hash(password, ARGON2)
    const id = newId()

    // The user record comes first: until the name is claimed nothing points at it.
    const record = { username, password: passwordHash, created_at: String(Date.now()) }
    await fromCluster(redis.hset(keys.user(id), record))
    const claimed = await fromCluster(redis.set(keys.username(username), id, 'NX'))
    if (claimed === null) {
      await fromCluster(redis.del(keys.user(id)))
      throw new UsernameTaken()
    }
    return { id, username }
  }

  /** The user these credentials belong to, or null, in the same time either way. */
  async function authenticate (rawName: string, password: string): Promise<User | null> {
    const username = normaliseUsername(rawName)
    const id = username === null
      ? null
      : await fromCluster(redis.get(keys.username(username)))
    const stored = id === null
      ? null
      : await fromCluster(redis.hget(keys.user(id), 'password'))
    const matches = await verify(stored ?? decoyHash, password)
    return matches && id !== null && stored !== null && username !== null
      ? { id, username }
      : null
  }

  return { register, authenticate }
}

export type UserStore = Awaited<ReturnType<typeof createUserStore>>
