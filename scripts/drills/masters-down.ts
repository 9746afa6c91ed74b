import type { FastifyInstance } from 'fastify'
import type { DrillCluster } from './cluster.js'
import { check, sleep, until, type DrillContext, type DrillResult } from './context.js'
import {
  bearer, memory, mib, openLoop, percentile, round, statusCounts, timed, type Memory,
  type Sample
} from './load.js'
import { stage } from './stage.js'
import { PASSWORD, logout, meAll, type DrillUser } from './users.js'

// Every master killed at once, so no replica can be promoted (promotion needs the votes
// of a majority of masters), then all of them started again from their append-only
// files. Meanwhile clients that do not wait for answers keep sending: every answer must
// be 503, work in flight and memory must stay bounded, and once the masters are back
// every session must answer 200 again.

export interface MastersDownOptions {
  /** How long the cluster stays without masters. */
  durationMs: number
  users: number
  /** Requests started per second, whatever the answers. */
  rate: number
}

export const mastersDownDefaults: MastersDownOptions = { durationMs: 60_000, users: 60, rate: 300 }

const WARMUP_MS = 2000
const RECOVERY_LIMIT_MS = 60_000
/** Memory after the outage may exceed memory before it by this much, and no more. */
export const HEAP_GROWTH_LIMIT = { factor: 1.5, bytes: 16 * 2 ** 20 }
export const RSS_GROWTH_LIMIT = { factor: 1.5, bytes: 64 * 2 ** 20 }

/** Mostly /me, some logins and logouts: every kind of call the cluster must answer. */
function traffic (server: FastifyInstance, users: DrillUser[], perSecond: number) {
  return openLoop(perSecond, async (n) => {
    const user = users[n % users.length] as DrillUser
    const token = user.sessions[0]?.access_token ?? ''
    if (n % 10 === 0) {
      return await timed(server, {
        method: 'POST', url: '/auth/login', payload: { username: user.username, password: PASSWORD }
      }, user.shard, 'login')
    }
    if (n % 10 === 5) {
      // Logs out a session that no longer exists: a protected write path, harmless.
      const stale = user.sessions[1]?.access_token ?? ''
      return await timed(server, { method: 'POST', url: '/auth/logout', headers: bearer(stale) },
        user.shard, 'logout')
    }
    return await timed(server, { method: 'GET', url: '/me', headers: bearer(token) },
      user.shard, 'me')
  })
}

async function killMasters (cluster: DrillCluster): Promise<number[]> {
  const masters = (await cluster.view()).filter((n) => n.role === 'master').map((n) => n.port)
  const pids = await Promise.all(masters.map(async (port) => await cluster.pidOf(port)))
  for (const pid of pids) process.kill(pid, 'SIGKILL')
  return masters
}

export async function mastersDown (
  ctx: DrillContext, options: MastersDownOptions
): Promise<DrillResult> {
  const { cluster, server, users } = await stage(ctx, options.users, 2)
  // The second session of each user is logged out before the outage: it must stay so.
  await logOutSecondSessions(server, users)

  const warm = traffic(server, users, options.rate)
  await sleep(WARMUP_MS)
  await warm.stop()
  const before = memory()
  const masters = await killMasters(cluster)
  const load = traffic(server, users, options.rate)
  ctx.log(`killed masters ${masters.join(', ')}; ${options.rate} requests/s for ` +
    `${options.durationMs} ms`)
  await sleep(options.durationMs)
  const maxInFlight = load.maxInFlight()
  const samples = await load.stop()
  const after = memory()

  const back = await comeBack(cluster, masters, server, users)
  const state = { samples, maxInFlight, before, after, ...back, users: users.length }
  return verdict(state, options.rate, server.config.CLUSTER_TIMEOUT_MS)
}

/** Starts the masters again; how long until every session answers, and what came back. */
async function comeBack (
  cluster: DrillCluster, masters: number[], server: FastifyInstance, users: DrillUser[]
) {
  const restartedAt = Date.now()
  await Promise.all(masters.map(async (port) => await cluster.restart(port, false)))
  const tokens = users.map((user) => user.sessions[0]).filter((t) => t !== undefined)
  const recovery = await until('every session answers 200', async () =>
    (await meAll(server, tokens)).every((status) => status === 200), RECOVERY_LIMIT_MS)
    .then(() => Date.now() - restartedAt, () => -1)
  const intact = (await meAll(server, tokens)).filter((status) => status === 200).length
  const revoked = users.map((user) => user.sessions[1]).filter((t) => t !== undefined)
  const stillOut = (await meAll(server, revoked)).filter((status) => status === 401).length
  return { recovery, intact, stillOut }
}

async function logOutSecondSessions (server: FastifyInstance, users: DrillUser[]): Promise<void> {
  await Promise.all(users.map(async (user) => {
    const status = await logout(server, user.sessions[1]?.access_token ?? '')
    if (status !== 204) throw new Error(`logout answered ${status}`)
  }))
}

interface Outcome {
  samples: Sample[]
  maxInFlight: number
  before: Memory
  after: Memory
  recovery: number
  intact: number
  stillOut: number
  users: number
}

function within (after: number, before: number, limit: { factor: number, bytes: number }) {
  return after <= before * limit.factor + limit.bytes
}

/** p99 of each ten seconds after the kill: does the wait grow as the outage lasts? */
function byTenSeconds (samples: Sample[]): string {
  const start = Math.min(...samples.map((s) => s.at))
  const buckets: number[][] = []
  for (const s of samples) (buckets[Math.floor((s.at - start) / 10_000)] ??= []).push(s.ms)
  return buckets.map((ms) => round(percentile(ms, 99))).join(', ')
}

function figures (o: Outcome, maxMs: number): DrillResult['figures'] {
  const p99 = (samples: Sample[]) => round(percentile(samples.map((s) => s.ms), 99))
  return {
    requests: o.samples.length,
    statuses: statusCounts(o.samples.map((s) => s.status)),
    'p99 / slowest answer ms': `${p99(o.samples)} / ${round(maxMs)}`,
    'p99 of me / login / logout ms': ['me', 'login', 'logout']
      .map((kind) => p99(o.samples.filter((s) => s.kind === kind))).join(' / '),
    'p99 by ten seconds of outage ms': byTenSeconds(o.samples),
    'most requests in flight': o.maxInFlight,
    'heap before / after': `${mib(o.before.heapUsed)} / ${mib(o.after.heapUsed)}`,
    'rss before / after': `${mib(o.before.rss)} / ${mib(o.after.rss)}`,
    'recovery after restart ms': o.recovery,
    'sessions intact': `${o.intact} of ${o.users}`,
    'logged-out sessions still 401': `${o.stillOut} of ${o.users}`
  }
}

function verdict (o: Outcome, rate: number, deadline: number): DrillResult {
  const odd = o.samples.filter((s) => s.status !== 503)
  // Requests start at `rate` a second; if none outlives the deadline by much, no more
  // than this many are ever in flight, and nothing can pile up inside latch.
  const inFlightLimit = Math.ceil(rate * (deadline + 500) / 1000)
  const maxMs = Math.max(0, ...o.samples.map((s) => s.ms))
  const growth = (limit: typeof HEAP_GROWTH_LIMIT) =>
    `after <= before x ${limit.factor} + ${mib(limit.bytes)}`
  return {
    figures: figures(o, maxMs),
    checks: [
      check('every answer during the outage is 503', o.samples.length > 0 && odd.length === 0,
        statusCounts(odd.map((s) => s.status))),
      check(`every answer within CLUSTER_TIMEOUT_MS + 250 (${deadline + 250} ms)`,
        maxMs <= deadline + 250, `slowest ${round(maxMs)} ms`),
      check(`requests in flight stay under ${inFlightLimit}`, o.maxInFlight <= inFlightLimit,
        `at most ${o.maxInFlight}`),
      check(`heap flat (${growth(HEAP_GROWTH_LIMIT)})`,
        within(o.after.heapUsed, o.before.heapUsed, HEAP_GROWTH_LIMIT)),
      check(`rss flat (${growth(RSS_GROWTH_LIMIT)})`,
        within(o.after.rss, o.before.rss, RSS_GROWTH_LIMIT)),
      check('every session answers 200 once the masters are back', o.recovery >= 0),
      check('sessions intact', o.intact === o.users, `${o.intact} of ${o.users}`),
      check('logged-out sessions stay logged out', o.stillOut === o.users)
    ]
  }
}
