import type { FastifyInstance } from 'fastify'
import {
  check, sleep, type Check, type DrillContext, type DrillResult
} from './context.js'
import { bearer, percentile, round, statusCounts, timed, type Sample } from './load.js'
import { meLoop, stage } from './stage.js'
import { PASSWORD, type DrillUser } from './users.js'

// kill -9 of one master's only replica. Reads go to masters and must not notice; a
// durable write on that shard cannot be confirmed and must answer 503 about
// WAIT_TIMEOUT_MS later than the same write elsewhere; writes on the other shards go on.
// With the replica back, writes on its shard succeed again.

export interface ReplicaKillOptions {
  /** How long reads run beside the writes, through the cluster's failure detection. */
  durationMs: number
  users: number
  clients: number
}

export const replicaKillDefaults: ReplicaKillOptions = {
  durationMs: 20_000, users: 90, clients: 24
}

/** Slack for a busy event loop on top of the expected cost of a refused write. */
export const WRITE_MARGIN_MS = 100
/** Concurrent writers in the burst phase. */
const BURST_WRITERS = 4

/** For each user a logout of its newest session and a fresh login, by `writers` clients. */
async function writes (
  server: FastifyInstance, users: DrillUser[], writers: number
): Promise<Sample[]> {
  const queue = users.flatMap((user) => [
    async () => await timed(server, {
      method: 'POST', url: '/auth/logout', headers: bearer(user.sessions.pop()?.access_token ?? '')
    }, user.shard, 'logout'),
    async () => await timed(server, {
      method: 'POST', url: '/auth/login', payload: { username: user.username, password: PASSWORD }
    }, user.shard, 'login')
  ])
  const samples: Sample[] = []
  await Promise.all(Array.from({ length: writers }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      samples.push(await next())
    }
  }))
  return samples
}

export async function replicaKill (
  ctx: DrillContext, options: ReplicaKillOptions
): Promise<DrillResult> {
  // One session for reads, one to log out in each write phase, one after the restart.
  const { cluster, server, users } = await stage(ctx, options.users, 4)
  const shard = (users[0] as DrillUser).shard
  const [replica] = await cluster.replicasOf(shard)
  if (replica === undefined) throw new Error(`master ${shard} has no replica`)

  await cluster.kill(replica)
  ctx.log(`killed replica ${replica} of master ${shard}; reads throughout`)
  const load = meLoop(server, users, options.clients)
  await sleep(options.durationMs / 2)
  const single = await writes(server, users, 1)
  const burst = await writes(server, users, BURST_WRITERS)
  await sleep(options.durationMs / 2)
  const read = await load.stop()

  await cluster.restart(replica)
  ctx.log(`replica ${replica} is back`)
  const after = await writes(server, users.filter((user) => user.shard === shard), 1)
  const { WAIT_TIMEOUT_MS: waitMs, CLUSTER_TIMEOUT_MS: deadline } = server.config
  return {
    figures: figures(read, single, burst, after, shard),
    checks: [
      check('every read answers 200 on every shard', read.every((s) => s.status === 200)),
      ...writeChecks(single, burst, shard, waitMs, deadline),
      check('writes on the shard succeed with the replica back',
        after.length > 0 && after.every(succeeded))
    ]
  }
}

const succeeded = (s: Sample) => s.status === 200 || s.status === 204
const p99Of = (samples: Sample[]) => percentile(samples.map((s) => s.ms), 99)
const maxOf = (samples: Sample[]) => Math.max(0, ...samples.map((s) => s.ms))

function writeChecks (
  single: Sample[], burst: Sample[], shard: number, waitMs: number, deadline: number
): Check[] {
  const here = (s: Sample) => s.shard === shard
  const mine = single.filter(here)
  const others = [...single, ...burst].filter((s) => !here(s))
  const crowded = burst.filter(here)
  // One at a time, a refused write may take what the same write takes on a healthy
  // shard, plus the wait for a confirmation that never comes, plus a margin.
  const limit = waitMs + p99Of(single.filter((s) => !here(s))) + WRITE_MARGIN_MS
  return [
    check('writes on the shard answer 503',
      mine.length > 0 && [...mine, ...crowded].every((s) => s.status === 503)),
    check('one at a time, a 503 costs about WAIT_TIMEOUT_MS more than a write elsewhere',
      p99Of(mine) <= limit, `p99 ${round(p99Of(mine))} ms, limit ${round(limit)} ms`),
    check(`in a burst, every 503 within CLUSTER_TIMEOUT_MS + 250 (${deadline + 250} ms)`,
      maxOf(crowded) <= deadline + 250, `slowest ${round(maxOf(crowded))} ms`),
    check('writes on the other shards succeed', others.length > 0 && others.every(succeeded))
  ]
}

function figures (
  read: Sample[], single: Sample[], burst: Sample[], after: Sample[], shard: number
): DrillResult['figures'] {
  const here = (s: Sample) => s.shard === shard
  const statuses = (samples: Sample[]) => statusCounts(samples.map((s) => s.status))
  const p99 = (samples: Sample[]) => ['logout', 'login']
    .map((kind) => round(p99Of(samples.filter((s) => s.kind === kind)))).join(' / ')
  return {
    reads: read.length,
    'read statuses': statuses(read),
    'p99 read on the shard / elsewhere ms':
      `${round(p99Of(read.filter(here)))} / ${round(p99Of(read.filter((s) => !here(s))))}`,
    'writes on the shard': statuses([...single, ...burst].filter(here)),
    'p99 logout / login there, one at a time ms': p99(single.filter(here)),
    'p99 logout / login elsewhere, one at a time ms': p99(single.filter((s) => !here(s))),
    [`p99 logout / login there, ${BURST_WRITERS} at a time ms`]: p99(burst.filter(here)),
    'writes elsewhere': statuses([...single, ...burst].filter((s) => !here(s))),
    'writes on the shard after restart': statuses(after)
  }
}
