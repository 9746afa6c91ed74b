import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { check, sleep, type DrillContext, type DrillResult } from './context.js'
import {
  bearer, closedLoop, percentile, round, statusCounts, timed, type Sample
} from './load.js'
import { stage } from './stage.js'
import { byShard, type DrillUser } from './users.js'

// One master stops answering clients for a while (CLIENT PAUSE ALL: commands from
// clients wait, the cluster bus and replication go on, so no failover starts). Requests
// for its shard must end as 503 at CLUSTER_TIMEOUT_MS, not hang; requests for the other
// shards must keep their latency.
//
// DEBUG SLEEP would stall the cluster bus too: a sleep longer than cluster-node-timeout
// makes the other nodes fail the master over, which is the master-kill drill, not this.

export interface SlowNodeOptions {
  /** How long the master stays paused. */
  durationMs: number
  users: number
  /** Clients per shard, each looping over the users of its shard. */
  clientsPerShard: number
}

export const slowNodeDefaults: SlowNodeOptions = {
  durationMs: 10_000, users: 90, clientsPerShard: 8
}

const BASELINE_MS = 2000
/** After the pause, time for queued commands to drain before "after" is measured. */
const SETTLE_MS = 1000
const AFTER_MS = 1000
/** Other shards' p99 during the pause may be this much worse than before it. */
export const LATENCY_SLACK = { factor: 2, ms: 25 }

/** `perShard` clients for each shard, each walking the users of its own shard. */
function load (server: FastifyInstance, users: DrillUser[], perShard: number) {
  const groups = [...byShard(users).values()]
  let turn = 0
  return closedLoop(groups.length * perShard, async (client) => {
    const group = groups[client % groups.length] as DrillUser[]
    const user = group[turn++ % group.length] as DrillUser
    const token = user.sessions[0]?.access_token ?? ''
    return await timed(server, { method: 'GET', url: '/me', headers: bearer(token) },
      user.shard, 'me')
  })
}

export async function slowNode (
  ctx: DrillContext, options: SlowNodeOptions
): Promise<DrillResult> {
  const { cluster, server, users } = await stage(ctx, options.users, 1)
  const victim = (users[0] as DrillUser).shard

  const running = load(server, users, options.clientsPerShard)
  await sleep(BASELINE_MS)
  const pausedAt = performance.now()
  await cluster.command(victim, 'CLIENT', 'PAUSE', options.durationMs, 'ALL')
  ctx.log(`paused master ${victim} for ${options.durationMs} ms`)
  await sleep(options.durationMs + SETTLE_MS + AFTER_MS)
  const samples = await running.stop()

  const windows = {
    before: samples.filter((s) => s.at < pausedAt),
    during: samples.filter((s) => s.at >= pausedAt && s.at < pausedAt + options.durationMs),
    after: samples.filter((s) => s.at >= pausedAt + options.durationMs + SETTLE_MS)
  }
  return verdict(windows, victim, server.config.CLUSTER_TIMEOUT_MS)
}

interface Windows {
  before: Sample[]
  during: Sample[]
  after: Sample[]
}

const p99Of = (samples: Sample[]) => percentile(samples.map((s) => s.ms), 99)

function verdict (w: Windows, victim: number, deadline: number): DrillResult {
  const slow = w.during.filter((s) => s.shard === victim)
  const others = w.during.filter((s) => s.shard !== victim)
  const baseline = p99Of(w.before.filter((s) => s.shard !== victim))
  const limit = baseline * LATENCY_SLACK.factor + LATENCY_SLACK.ms
  const slowest = Math.max(0, ...slow.map((s) => s.ms))
  return {
    figures: {
      'slow shard during pause': statusCounts(slow.map((s) => s.status)),
      'slow shard p99 / slowest ms': `${round(p99Of(slow))} / ${round(slowest)}`,
      'other shards during pause': statusCounts(others.map((s) => s.status)),
      'other shards p99 before / during ms': `${round(baseline)} / ${round(p99Of(others))}`,
      'all shards after pause': statusCounts(w.after.map((s) => s.status))
    },
    checks: [
      check('the slow shard answers 503, and only 200 or 503',
        slow.some((s) => s.status === 503) && slow.every((s) => [200, 503].includes(s.status))),
      check(`timeouts, not hangs: every answer within ${deadline + 250} ms`,
        slowest <= deadline + 250, `slowest ${round(slowest)} ms`),
      check('other shards answer 200 throughout', others.length > 0 &&
        others.every((s) => s.status === 200)),
      check(`other shards keep their latency (p99 <= ${LATENCY_SLACK.factor} x before + ` +
        `${LATENCY_SLACK.ms} ms)`, p99Of(others) <= limit,
      `${round(p99Of(others))} ms, limit ${round(limit)} ms`),
      check('every shard answers 200 after the pause', w.after.length > 0 &&
        w.after.every((s) => s.status === 200))
    ]
  }
}
