import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { check, until, type DrillContext, type DrillResult } from './context.js'
import { round, statusCounts } from './load.js'
import { stage } from './stage.js'
import {
  addSessions, busiestShard, logout, me, meAll, type DrillUser, type Tokens
} from './users.js'

// A burst of logouts on one shard, each acknowledged only once a replica has it, then
// kill -9 of that shard's master at once. After the failover no logged-out session may
// answer 200 again, and every other session must still answer 200.

export interface LogoutKillOptions {
  users: number
  /** Sessions of each user on the victim shard; half of them are logged out. */
  sessions: number
}

export const logoutKillDefaults: LogoutKillOptions = { users: 90, sessions: 6 }

const FAILOVER_LIMIT_MS = 30_000

/** Logs out every other session of each user, all at once, as clients would. */
async function burst (server: FastifyInstance, users: DrillUser[]) {
  const out: Tokens[] = []
  const kept: Tokens[] = []
  for (const user of users) {
    user.sessions.forEach((tokens, i) => (i % 2 === 0 ? out : kept).push(tokens))
  }
  const statuses = await Promise.all(out.map(async (t) => await logout(server, t.access_token)))
  return { out, kept, statuses }
}

export async function logoutKill (
  ctx: DrillContext, options: LogoutKillOptions
): Promise<DrillResult> {
  const { cluster, server, users: all } = await stage(ctx, options.users, 1)
  const victim = busiestShard(all)
  const onVictim = all.filter((user) => user.shard === victim)
  await Promise.all(onVictim.map(async (user) => await addSessions(server, user, options.sessions)))
  const pid = await cluster.pidOf(victim)
  ctx.log(`${onVictim.length} users with ${options.sessions} sessions each on master ${victim}`)

  const started = performance.now()
  const { out, kept, statuses } = await burst(server, onVictim)
  const burstMs = performance.now() - started
  process.kill(pid, 'SIGKILL')
  ctx.log(`${out.length} logouts in ${round(burstMs)} ms, then killed master ${victim}`)

  const probe = kept[0] as Tokens
  const failover = await until('a kept session answers 200 again', async () =>
    await me(server, probe.access_token) === 200, FAILOVER_LIMIT_MS)
  const others = all.filter((user) => user.shard !== victim).flatMap((user) => user.sessions)
  const outAfter = await meAll(server, out)
  const keptAfter = await meAll(server, [...kept, ...others])
  await cluster.restart(victim)

  return verdict({ statuses, outAfter, keptAfter, burstMs, failover })
}

interface Outcome {
  /** Answers to the logouts, before the kill. */
  statuses: number[]
  /** /me of the logged-out sessions, and of all others, after the failover. */
  outAfter: number[]
  keptAfter: number[]
  burstMs: number
  failover: number
}

function verdict (o: Outcome): DrillResult {
  const acknowledged = o.statuses.filter((status) => status === 204).length
  const resurrected = o.outAfter.filter((status) => status === 200).length
  const lost = o.keptAfter.filter((status) => status !== 200).length
  return {
    figures: {
      'logouts sent': o.statuses.length,
      'logouts acknowledged': acknowledged,
      'burst ms': round(o.burstMs),
      'failover ms': o.failover,
      'logouts resurrected': resurrected,
      'logged-out answers': statusCounts(o.outAfter),
      'other sessions lost': lost
    },
    checks: [
      check('every logout was acknowledged before the kill', acknowledged === o.statuses.length),
      check('zero logouts resurrected: every one answers 401',
        o.outAfter.every((status) => status === 401), statusCounts(o.outAfter)),
      check('every other session still answers 200', lost === 0, `${lost} lost`)
    ]
  }
}
