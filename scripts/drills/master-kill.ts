import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { check, sleep, until, type DrillContext, type DrillResult } from './context.js'
import { percentile, round, statusCounts, type Sample } from './load.js'
import { meLoop, stage } from './stage.js'
import { meAll, type DrillUser } from './users.js'

// kill -9 of the master that holds some users' sessions while clients keep calling
// GET /me with every user's token. Only that shard may fail, only with a prompt 503, for
// no longer than failure detection and promotion take, and no session may be lost.

export interface MasterKillOptions {
  /** How long the load runs in all. */
  durationMs: number
  /** When, into the load, the master dies. */
  killAtMs: number
  users: number
  clients: number
}

export const masterKillDefaults: MasterKillOptions = {
  durationMs: 30_000, killAtMs: 5_000, users: 150, clients: 48
}

/** After the cluster's own failure detection, what promotion and the client may take. */
export const FAILOVER_ALLOWANCE_MS = 5000
const RECOVERY_LIMIT_MS = 30_000

export async function masterKill (
  ctx: DrillContext, options: MasterKillOptions
): Promise<DrillResult> {
  const { cluster, server, users } = await stage(ctx, options.users, 1)
  const victim = (users[0] as DrillUser).shard
  const pid = await cluster.pidOf(victim)
  const [, nodeTimeout] = await cluster.command(victim, 'CONFIG', 'GET',
    'cluster-node-timeout') as [string, string]
  ctx.log(`${users.length} users, ${users.filter((u) => u.shard === victim).length} on ` +
    `master ${victim}; ${options.clients} clients for ${options.durationMs} ms`)

  const killAt = Math.min(options.killAtMs, options.durationMs / 3)
  const load = meLoop(server, users, options.clients)
  await sleep(killAt)
  const killedAt = performance.now()
  process.kill(pid, 'SIGKILL')
  ctx.log(`killed master ${victim} (pid ${pid})`)
  await sleep(options.durationMs - killAt)
  const samples = await load.stop()

  const after = await aftermath(server, users)
  await cluster.restart(victim)
  return verdict(summarise(samples, victim, killedAt), {
    ...after, nodeTimeout: Number(nodeTimeout), timeout: server.config.CLUSTER_TIMEOUT_MS
  })
}

/** Once the load stops: whether every session answers 200 again, and how many never do. */
async function aftermath (server: FastifyInstance, users: DrillUser[]) {
  const tokens = users.map((user) => user.sessions[0]).filter((t) => t !== undefined)
  const recovery = await until('every session answers 200', async () =>
    (await meAll(server, tokens)).every((status) => status === 200), RECOVERY_LIMIT_MS)
    .catch(() => -1)
  const lost = (await meAll(server, tokens)).filter((status) => status !== 200).length
  return { recovery, lost }
}

interface Summary {
  total: number
  failed: Sample[]
  elsewhere: number
  odd: number
  windowMs: number
  sinceKillMs: number
  p99: number
  max503: number
  statuses: string
}

function summarise (samples: Sample[], victim: number, killedAt: number): Summary {
  const failed = samples.filter((s) => s.status !== 200)
  const unavailable = failed.filter((s) => s.status === 503).map((s) => s.ms)
  const firstAt = Math.min(...failed.map((s) => s.at))
  const lastEnd = Math.max(...failed.map((s) => s.at + s.ms))
  return {
    total: samples.length,
    failed,
    elsewhere: failed.filter((s) => s.shard !== victim).length,
    odd: failed.filter((s) => s.status !== 503).length,
    windowMs: failed.length === 0 ? 0 : lastEnd - firstAt,
    sinceKillMs: failed.length === 0 ? 0 : lastEnd - killedAt,
    p99: percentile(unavailable, 99),
    max503: Math.max(0, ...unavailable),
    statuses: statusCounts(samples.map((s) => s.status))
  }
}

interface After {
  lost: number
  recovery: number
  nodeTimeout: number
  timeout: number
}

function verdict (s: Summary, after: After): DrillResult {
  const windowLimit = after.nodeTimeout + FAILOVER_ALLOWANCE_MS
  const latencyLimit = after.timeout + 250
  return {
    figures: {
      requests: s.total,
      statuses: s.statuses,
      'error window ms': round(s.windowMs),
      'errors end after kill ms': round(s.sinceKillMs),
      'failed requests': s.failed.length,
      'failed on other shards': s.elsewhere,
      'p99 of 503s ms': round(s.p99),
      'slowest 503 ms': round(s.max503),
      'sessions lost': after.lost
    },
    checks: [
      check('the kill was felt: some requests failed', s.failed.length > 0),
      check('every response is 200 or 503', s.odd === 0, `${s.odd} others`),
      check('only the killed shard failed', s.elsewhere === 0, `${s.elsewhere} elsewhere`),
      check(`p99 of 503s within ${latencyLimit} ms`, s.p99 <= latencyLimit),
      check(`errors end within ${windowLimit} ms of the kill`, s.sinceKillMs <= windowLimit),
      check('every session answers 200 after failover', after.recovery >= 0),
      check('zero sessions lost', after.lost === 0, `${after.lost} lost`)
    ]
  }
}
