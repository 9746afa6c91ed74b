import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import pLimit from 'p-limit'
import { hash, verify, Algorithm, type Options } from '@node-rs/argon2'
import type { Result } from 'ioredis'
import type { RedisClient } from '../../external/redis.js'
import { newId, type Keys } from '../keys.js'
import { InvalidPassword, InvalidUsername, UsernameTaken } from '../errors/errors.js'
import { normaliseUsername } from './username.js'
import type { ClusterCalls } from '../cluster-calls.js'
import {
  CHANGE_PASSWORD, DELETE_USER, RELEASE_USERNAME, TAKE_OVER_USERNAME
} from './scripts.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    latchChangePassword(
      user: string, index: string, hash: string, credential: string, prefix: string, keep: string
    ): Result<number, Context>
    latchDeleteUser(user: string, index: string, prefix: string): Result<string | null, Context>
    latchReleaseUsername(name: string, uid: string): Result<number, Context>
    latchTakeOverUsername(name: string, stale: string, uid: string): Result<number, Context>
  }
}

// OWASP's baseline for argon2id: about 12 ms per hash here, off the event loop.
const ARGON2: Options = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2 }

// argon2 runs on libuv's pool of four threads. Left alone, a burst of logins takes every
// core and the event loop, which serves every /me, waits behind it. One core is kept for
// the event loop; logins beyond that queue here.
const argon2Slots = pLimit(Math.max(1, availableParallelism() - 1))
const hashPassword = async (password: string | Buffer) =>
  await argon2Slots(async () => await hash(password, ARGON2))
const checkHash = async (stored: string, password: string) =>
  await argon2Slots(async () => await verify(stored, password))

export interface User {
  id: string
  username: string
}

export interface Credentials extends User {
  /** Changes with every password change: a session may only start on the current one. */
  credential: string
}

function defineScripts (redis: RedisClient): void {
  redis.defineCommand('latchChangePassword', { numberOfKeys: 2, lua: CHANGE_PASSWORD })
  redis.defineCommand('latchDeleteUser', { numberOfKeys: 2, lua: DELETE_USER })
  redis.defineCommand('latchReleaseUsername', { numberOfKeys: 1, lua: RELEASE_USERNAME })
  redis.defineCommand('latchTakeOverUsername', { numberOfKeys: 1, lua: TAKE_OVER_USERNAME })
}

export async function createUserStore (
  redis: RedisClient, calls: ClusterCalls, keys: Keys
) {
  const { guard, durable } = calls
  defineScripts(redis)
  defineScripts(calls.writer)
  // Unknown usernames are checked against this hash so that they cost what a wrong
  // password costs, and the two cannot be told apart by timing.
  const decoyHash = await hashPassword(randomBytes(32))

  async function register (rawName: string, password: string): Promise<User> {
    const username = normaliseUsername(rawName)
    if (username === null) throw new InvalidUsername()
    const passwordHash = await hashPassword(password)
    const id = newId()

    // The user record comes first: until the name is claimed nothing points at it.
    const record = {
      username, password: passwordHash, credential: newId(), created_at: String(Date.now())
    }
    await durable((writes) => writes.hset(keys.user(id), record))
    if (!await claimUsername(username, id)) {
      await guard(redis.del(keys.user(id)))
      throw new UsernameTaken()
    }
    return { id, username }
  }

  /**
   * Claims a name for `id`. A name whose owner no longer exists (its deletion stopped
   * half-way, between the user's slot and the name's) is taken over.
   */
  async function claimUsername (username: string, id: string): Promise<boolean> {
    const nameKey = keys.username(username)
    if (await durable((writes) => writes.set(nameKey, id, 'NX')) !== null) return true
    const owner = await guard(redis.get(nameKey))
    if (owner === null) return await claimUsername(username, id)
    if (await guard(redis.exists(keys.user(owner))) === 1) return false
    return await durable((writes) => writes.latchTakeOverUsername(nameKey, owner, id)) === 1
  }

  /** The user these credentials belong to, or null, in the same time either way. */
  async function authenticate (rawName: string, password: string): Promise<Credentials | null> {
    const username = normaliseUsername(rawName)
    const id = username === null
      ? null
      : await guard(redis.get(keys.username(username)))
    const [stored, credential] = id === null
      ? [null, null]
      : await guard(redis.hmget(keys.user(id), 'password', 'credential'))
    const matches = await checkHash(stored ?? decoyHash, password)
    if (!matches || id === null || username === null || !stored || !credential) return null
    return { id, username, credential }
  }

  async function checkPassword (id: string, password: string): Promise<void> {
    const stored = await guard(redis.hget(keys.user(id), 'password'))
    if (!await checkHash(stored ?? decoyHash, password) || stored === null) {
      throw new InvalidPassword()
    }
  }

  /** Sets a new password and ends every session of the user but `keep`. */
  async function changePassword (id: string, keep: string, current: string, next: string) {
    await checkPassword(id, current)
    const passwordHash = await hashPassword(next)
    const ended = await durable<number>((writes) => writes.latchChangePassword(
      keys.user(id), keys.sessions(id), passwordHash, newId(), keys.sessionPrefix(id), keep))
    if (ended < 0) throw new InvalidPassword()
  }

  /** Deletes the account and all its sessions, then frees the username. */
  async function remove (id: string, password: string): Promise<void> {
    await checkPassword(id, password)
    const username = await durable<string | null>((writes) =>
      writes.latchDeleteUser(keys.user(id), keys.sessions(id), keys.sessionPrefix(id)))
    if (username === null) throw new InvalidPassword()
    await durable((writes) => writes.latchReleaseUsername(keys.username(username), id))
  }

  return { register, authenticate, changePassword, remove }
}

export type UserStore = Awaited<ReturnType<typeof createUserStore>>
