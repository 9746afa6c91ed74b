import { performance } from 'node:perf_hooks'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { Cluster, type Redis } from 'ioredis'
import { check, sleep, type DrillContext, type DrillResult } from './context.js'
import { bearer, memory, mib, percentile, round, type Memory } from './load.js'
import { stage } from './stage.js'
import { PASSWORD, type DrillUser, type Tokens } from './users.js'

// Steady mixed traffic for a long while: logins, /me, refreshes, logouts and the odd
// failed login. Memory must stay flat, and at the end every key under the prefix must
// carry a TTL, except user records and username index entries, which live until the
// account is deleted.

export interface SoakOptions {
  durationMs: number
  users: number
  /** Clients, each repeating one session's life: login, /me, refresh, /me, logout. */
  clients: number
}

export const soakDefaults: SoakOptions = { durationMs: 600_000, users: 100, clients: 12 }

/** Kinds of key that are permanent by design. */
export const PERMANENT = new Set(['user', 'username'])
/** The last third's mean may exceed the first third's by this much, and no more. */
export const HEAP_GROWTH_LIMIT = { factor: 1.25, bytes: 16 * 2 ** 20 }
export const RSS_GROWTH_LIMIT = { factor: 1.25, bytes: 64 * 2 ** 20 }
const READS_PER_SESSION = 5

/** Latencies kept for the p99: a uniform sample, so the drill's own memory stays flat. */
const RESERVOIR = 10_000

/** What the soak saw, in memory that does not grow with its length. */
class Tally {
  total = 0
  unexpected = 0
  readonly statuses = new Map<number, number>()
  readonly latencies: number[] = []

  add (status: number, ms: number, expected: number): void {
    this.total++
    if (status !== expected) this.unexpected++
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1)
    if (this.latencies.length < RESERVOIR) this.latencies.push(ms)
    else {
      const slot = Math.floor(Math.random() * this.total)
      if (slot < RESERVOIR) this.latencies[slot] = ms
    }
  }

  describe (): string {
    return [...this.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(', ')
  }
}

async function send (
  server: FastifyInstance, tally: Tally, expected: number, request: InjectOptions
) {
  const started = performance.now()
  const res = await server.inject(request)
  tally.add(res.statusCode, performance.now() - started, expected)
  return res
}

/** One session from login to logout; a failed login every tenth round. */
async function life (server: FastifyInstance, user: DrillUser, round: number, tally: Tally) {
  if (round % 10 === 9) {
    await send(server, tally, 401, {
      method: 'POST', url: '/auth/login', payload: { username: user.username, password: 'wrong!!!' }
    })
  }
  const login = await send(server, tally, 200, {
    method: 'POST', url: '/auth/login', payload: { username: user.username, password: PASSWORD }
  })
  if (login.statusCode !== 200) return
  let tokens = login.json<Tokens>()
  const me = async () => await send(server, tally, 200,
    { method: 'GET', url: '/me', headers: bearer(tokens.access_token) })
  for (let i = 0; i < READS_PER_SESSION; i++) await me()
  const refreshed = await send(server, tally, 200, {
    method: 'POST', url: '/auth/refresh', payload: { refresh_token: tokens.refresh_token }
  })
  if (refreshed.statusCode === 200) tokens = refreshed.json<Tokens>()
  await me()
  await send(server, tally, 204,
    { method: 'POST', url: '/auth/logout', headers: bearer(tokens.access_token) })
}

export async function soak (ctx: DrillContext, options: SoakOptions): Promise<DrillResult> {
  // Each user keeps one session alive throughout: sessions that are never logged out must
  // carry their TTL too.
  const { server, users } = await stage(ctx, options.users, 1)
  ctx.log(`${users.length} users, ${options.clients} clients for ${options.durationMs} ms`)

  const tally = new Tally()
  const readings: Memory[] = []
  const state = { running: true }
  const clients = Array.from({ length: options.clients }, async (_, client) => {
    for (let n = client; state.running; n += options.clients) {
      await life(server, users[n % users.length] as DrillUser, n, tally)
    }
  })
  const every = Math.max(1000, options.durationMs / 60)
  for (let t = 0; t < options.durationMs; t += every) {
    await sleep(every)
    readings.push(memory())
  }
  state.running = false
  await Promise.all(clients)

  const keys = await ttlCensus(server)
  return verdict(tally, readings, keys, options.durationMs)
}

export interface Census {
  /** Keys of each kind (the first segment after the prefix). */
  total: Record<string, number>
  /** Keys of each kind without a TTL. */
  immortal: Record<string, number>
  /** A few of those outside the permanent kinds, by name. */
  examples: string[]
}

/** Every key under the server's prefix on every master, by kind, with and without TTL. */
export async function ttlCensus (server: FastifyInstance): Promise<Census> {
  const prefix = server.config.KEY_PREFIX
  const client = server.cluster
  const masters = client instanceof Cluster ? client.nodes('master') : [client]
  const census: Census = { total: {}, immortal: {}, examples: [] }
  for (const node of masters) await countNode(node, prefix, census)
  return census
}

async function countNode (node: Redis, prefix: string, census: Census): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    const ttls = await Promise.all(keys.map(async (key) => await node.pttl(key)))
    keys.forEach((key, i) => {
      // -2: the key expired between SCAN and PTTL; -1: it has no TTL.
      if (ttls[i] === -2) return
      const kind = key.slice(prefix.length).split(':')[0] ?? ''
      census.total[kind] = (census.total[kind] ?? 0) + 1
      if (ttls[i] !== -1) return
      census.immortal[kind] = (census.immortal[kind] ?? 0) + 1
      if (!PERMANENT.has(kind) && census.examples.length < 3) census.examples.push(key)
    })
    cursor = next
  } while (cursor !== '0')
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)

function thirds (readings: Memory[], field: keyof Memory): [number, number] {
  const third = Math.max(1, Math.floor(readings.length / 3))
  const values = readings.map((reading) => reading[field])
  return [mean(values.slice(0, third)), mean(values.slice(-third))]
}

function verdict (tally: Tally, readings: Memory[], keys: Census, ms: number): DrillResult {
  const [heapFirst, heapLast] = thirds(readings, 'heapUsed')
  const [rssFirst, rssLast] = thirds(readings, 'rss')
  const immortal = Object.entries(keys.immortal).filter(([kind]) => !PERMANENT.has(kind))
  const format = (counts: Record<string, number>) =>
    Object.entries(counts).map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none'
  return {
    figures: {
      requests: tally.total,
      'requests per second': round(tally.total / (ms / 1000)),
      statuses: tally.describe(),
      'p99 ms': round(percentile(tally.latencies, 99)),
      'heap first / last third': `${mib(heapFirst)} / ${mib(heapLast)}`,
      'rss first / last third': `${mib(rssFirst)} / ${mib(rssLast)}`,
      'keys by kind': format(keys.total),
      'keys without TTL': format(keys.immortal)
    },
    checks: [
      check('every answer as expected', tally.unexpected === 0, `${tally.unexpected} not`),
      check('heap flat: last third within 1.25 x first + 16 MiB',
        heapLast <= heapFirst * HEAP_GROWTH_LIMIT.factor + HEAP_GROWTH_LIMIT.bytes),
      check('rss flat: last third within 1.25 x first + 64 MiB',
        rssLast <= rssFirst * RSS_GROWTH_LIMIT.factor + RSS_GROWTH_LIMIT.bytes),
      check('every key has a TTL but user records and usernames', immortal.length === 0,
        [format(Object.fromEntries(immortal)), ...keys.examples].join('; '))
    ]
  }
}
