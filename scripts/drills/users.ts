import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { bearer } from './load.js'

// Users made through latch's own API, as a client would make them, and placed on the
// master that holds their keys (all of a user's keys share one slot).

export const PASSWORD = 'correct horse battery staple'

export interface Tokens {
  access_token: string
  refresh_token: string
  session_id: string
}

export interface DrillUser {
  id: string
  username: string
  /** Port of the master that served the user's slot when it was made. */
  shard: number
  /** Port of the master of the username's index entry, which a login reads first. */
  nameShard: number
  sessions: Tokens[]
}

/** The port of the master serving a key, as the drill's cluster says. */
export type ShardOf = (key: string) => number

export async function login (
  server: FastifyInstance, username: string
): Promise<{ status: number, tokens?: Tokens }> {
  const res = await server.inject({
    method: 'POST', url: '/auth/login', payload: { username, password: PASSWORD }
  })
  if (res.statusCode !== 200) return { status: res.statusCode }
  return { status: 200, tokens: res.json<Tokens>() }
}

export async function logout (server: FastifyInstance, token: string): Promise<number> {
  const res = await server.inject({ method: 'POST', url: '/auth/logout', headers: bearer(token) })
  return res.statusCode
}

export async function me (server: FastifyInstance, token: string): Promise<number> {
  return (await server.inject({ method: 'GET', url: '/me', headers: bearer(token) })).statusCode
}

async function createUser (
  server: FastifyInstance, sessions: number, shardOf: ShardOf
): Promise<DrillUser> {
  const username = `drill_${randomBytes(6).toString('hex')}`
  const res = await server.inject({
    method: 'POST', url: '/auth/register', payload: { username, password: PASSWORD }
  })
  if (res.statusCode !== 201) throw new Error(`register answered ${res.statusCode}`)
  const { id } = res.json<{ id: string }>()
  const user: DrillUser = {
    id,
    username,
    shard: shardOf(server.keys.user(id)),
    nameShard: shardOf(server.keys.username(username)),
    sessions: []
  }
  await addSessions(server, user, sessions)
  return user
}

/** Logs `user` in again until it has `count` sessions. */
export async function addSessions (
  server: FastifyInstance, user: DrillUser, count: number
): Promise<void> {
  while (user.sessions.length < count) {
    const { status, tokens } = await login(server, user.username)
    if (tokens === undefined) throw new Error(`login answered ${status}`)
    user.sessions.push(tokens)
  }
}

/** `count` users with `sessions` sessions each, a few at a time (argon2 is the cost). */
export async function createUsers (
  server: FastifyInstance, count: number, sessions: number, shardOf: ShardOf
): Promise<DrillUser[]> {
  const users: DrillUser[] = []
  let started = 0
  const worker = async () => {
    while (started < count) {
      started++
      users.push(await createUser(server, sessions, shardOf))
    }
  }
  await Promise.all(Array.from({ length: Math.min(8, count) }, worker))
  return users
}

/** Users grouped by the port of their master. */
export function byShard (users: DrillUser[]): Map<number, DrillUser[]> {
  const groups = new Map<number, DrillUser[]>()
  for (const user of users) groups.set(user.shard, [...groups.get(user.shard) ?? [], user])
  return groups
}

/** The shard holding the most of `users`: the victim that shows the most. */
export function busiestShard (users: DrillUser[]): number {
  const groups = [...byShard(users)].sort(([, a], [, b]) => b.length - a.length)
  const first = groups[0]
  if (first === undefined) throw new Error('no users')
  return first[0]
}

/** /me of every session of `users`: the statuses in order, a few requests at a time. */
export async function meAll (server: FastifyInstance, tokens: Tokens[]): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < tokens.length; i += 32) {
    const batch = tokens.slice(i, i + 32)
    statuses.push(...await Promise.all(batch.map(async (t) => await me(server, t.access_token))))
  }
  return statuses
}
