import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import {
  PRODUCTION_BOUNDS, check, sleep, until, type DrillContext, type DrillResult
} from './context.js'
import { bearer, closedLoop, round, statusCounts, timed, type Sample } from './load.js'
import { startNetnsCluster, type NetnsCluster } from './netns.js'
import { command, placement, replicasOf, type Address, type NodeInfo } from './nodes.js'
import { createUsers, login, logout, meAll, type DrillUser, type Tokens } from './users.js'

// A master cut off from every other node while latch can still reach it. Writes it takes
// cannot reach its replica and must be refused (503); the majority fails its slots over
// to the replica, which has no replica of its own while the cut lasts, so writes stay
// refused. After the network heals, the old master rejoins as a replica: no session from
// before the cut may be lost, no logout confirmed before or during it may come back.

export interface PartitionOptions {
  /** How long the cut lasts at least; it lasts until the failover and 2 s more anyway. */
  durationMs: number
  users: number
  writers: number
}

export const partitionDefaults: PartitionOptions = { durationMs: 20_000, users: 60, writers: 4 }

const FAILOVER_LIMIT_MS = 30_000
const HEAL_LIMIT_MS = 60_000
const AFTER_FAILOVER_MS = 2000

/** A write during the cut and what came of it. */
interface Write extends Sample {
  /** A login reads the username's index entry first, which may live on another shard. */
  nameShard?: number
  /** A session the write created (login 200) or ended (logout 204), to check after. */
  tokens?: Tokens
}

/**
 * Writers loop over the users: each user's third session is logged out once, then every
 * turn logs the user in again. Acknowledged writes are kept to be checked after healing.
 */
function writeLoop (server: FastifyInstance, users: DrillUser[], writers: number) {
  let turn = 0
  const pending = new Map(users.map((user) => [user, user.sessions[2]]))
  return closedLoop(writers, async (): Promise<Write> => {
    const user = users[turn++ % users.length] as DrillUser
    const stale = pending.get(user)
    if (stale !== undefined) {
      pending.delete(user)
      const sample = await timed(server, {
        method: 'POST',
        url: '/auth/logout',
        headers: bearer(stale.access_token)
      }, user.shard, 'logout')
      return { ...sample, tokens: stale }
    }
    const at = performance.now()
    const { status, tokens } = await login(server, user.username)
    const { shard, nameShard } = user
    const sample = { at, ms: performance.now() - at, status, shard, nameShard, kind: 'login' }
    return tokens === undefined ? sample : { ...sample, tokens }
  })
}

function readLoop (server: FastifyInstance, users: DrillUser[]) {
  let turn = 0
  return closedLoop(2, async () => {
    const user = users[turn++ % users.length] as DrillUser
    return await timed(server, {
      method: 'GET',
      url: '/me',
      headers: bearer(user.sessions[0]?.access_token ?? '')
    }, user.shard, 'me')
  })
}

/** Until the nodes of the majority side see `replica` as master, from one of them. */
async function failover (cluster: NetnsCluster, witness: Address, replica: NodeInfo) {
  return await until('the replica takes over', async () => {
    const view = await cluster.viewFrom(witness).catch(() => [])
    return view.some((node) => node.id === replica.id && node.role === 'master')
  }, FAILOVER_LIMIT_MS)
}

/** The master to cut off, its replica, and a master of the majority to ask. */
function roles (view: NodeInfo[], shard: number) {
  const victim = view.find((node) => node.port === shard) as NodeInfo
  const replica = replicasOf(view, victim)[0] as NodeInfo
  const witness = view.find((node) => node.role === 'master' && node.id !== victim.id) as NodeInfo
  return { victim, replica, witness }
}

export async function partition (
  ctx: DrillContext, options: PartitionOptions
): Promise<DrillResult> {
  const cluster = await startNetnsCluster(ctx.base, ctx.defer)
  const server = await ctx.latch({ REDIS_CLUSTER_NODES: cluster.nodes, ...PRODUCTION_BOUNDS })
  const view = await cluster.view()
  const users = await createUsers(server, options.users, 3, placement(view))
  // Sessions: [0] lives throughout, [1] ends before the cut, [2] is logged out during it.
  const endedBefore = users.map((user) => user.sessions[1] as Tokens)
  const before = await Promise.all(
    endedBefore.map(async (t) => await logout(server, t.access_token)))
  const { victim, replica, witness } = roles(view, (users[0] as DrillUser).shard)

  await cluster.cut(victim.port)
  ctx.log(`cut master ${victim.host}:${victim.port} off from the other nodes`)
  const cut = await duringCut(ctx, { cluster, server, users, victim, replica, witness }, options)

  await cluster.heal(victim.port)
  const healMs = await until('the cluster settles', cluster.settled, HEAL_LIMIT_MS)
  ctx.log(`healed; the cluster settled after ${healMs} ms`)
  const after = await writesAfterHeal(server, users, victim.port)
  const checked = await recheck(server, users, endedBefore, cut.during)
  return verdict({ ...cut, before, after, checked, victim: victim.port, healMs })
}

interface Cut {
  cluster: NetnsCluster
  server: FastifyInstance
  users: DrillUser[]
  victim: NodeInfo
  replica: NodeInfo
  witness: NodeInfo
}

/** Traffic while the cut lasts: until the replica has taken over, and a while longer. */
async function duringCut (ctx: DrillContext, c: Cut, options: PartitionOptions) {
  const cutAt = performance.now()
  const writes = writeLoop(c.server, c.users, options.writers)
  const reads = readLoop(c.server, c.users)
  const reachable = await command(c.victim, 'PING').then((reply) => reply === 'PONG', () => false)
  const failoverMs = await failover(c.cluster, c.witness, c.replica)
  ctx.log(`replica ${c.replica.host}:${c.replica.port} took over after ${failoverMs} ms`)
  await sleep(Math.max(AFTER_FAILOVER_MS, options.durationMs - (performance.now() - cutAt)))
  const during = await writes.stop() as Write[]
  const readSamples = await reads.stop()
  return { during, readSamples, reachable, failoverMs }
}

/** A login and a logout on the victim's shard once healed: writes work there again. */
async function writesAfterHeal (server: FastifyInstance, users: DrillUser[], shard: number) {
  const user = users.find((u) => u.shard === shard) as DrillUser
  const { status, tokens } = await login(server, user.username)
  const out = tokens === undefined ? 0 : await logout(server, tokens.access_token)
  return [status, out]
}

async function recheck (
  server: FastifyInstance, users: DrillUser[], endedBefore: Tokens[], during: Write[]
) {
  const tokensOf = (kind: string, status: number) => during
    .filter((w) => w.kind === kind && w.status === status && w.tokens !== undefined)
    .map((w) => w.tokens as Tokens)
  return {
    kept: await meAll(server, users.map((user) => user.sessions[0] as Tokens)),
    endedBefore: await meAll(server, endedBefore),
    endedDuring: await meAll(server, tokensOf('logout', 204)),
    createdDuring: await meAll(server, tokensOf('login', 200)),
    refusedLogouts: await meAll(server, tokensOf('logout', 503))
  }
}

interface Outcome {
  before: number[]
  during: Write[]
  readSamples: Sample[]
  after: number[]
  checked: Awaited<ReturnType<typeof recheck>>
  victim: number
  reachable: boolean
  failoverMs: number
  healMs: number
}

function verdict (o: Outcome): DrillResult {
  const cutShard = o.during.filter((w) => w.shard === o.victim)
  // Logins elsewhere whose username lives on the cut shard: they only read there.
  const readThere = o.during.filter((w) => w.shard !== o.victim && w.nameShard === o.victim)
  const elsewhere = o.during.filter((w) => w.shard !== o.victim && w.nameShard !== o.victim)
  const statuses = (values: Array<{ status: number }>) => statusCounts(values.map((v) => v.status))
  const all = (values: number[], status: number) => values.every((v) => v === status)
  const { kept, endedBefore, endedDuring, createdDuring, refusedLogouts } = o.checked
  const lost = kept.filter((s) => s !== 200).length + createdDuring.filter((s) => s !== 200).length
  const back = [...endedBefore, ...endedDuring].filter((s) => s !== 401).length
  return {
    figures: {
      'failover after cut ms': o.failoverMs,
      'settled after heal ms': round(o.healMs),
      'writes on the cut shard': statuses(cutShard),
      'logins elsewhere, username on it': statuses(readThere),
      'writes elsewhere': statuses(elsewhere),
      'reads on the cut shard': statuses(o.readSamples.filter((s) => s.shard === o.victim)),
      'reads elsewhere': statuses(o.readSamples.filter((s) => s.shard !== o.victim)),
      'sessions lost': lost,
      'logouts resurrected': back,
      'refused logouts, after heal': statusCounts(refusedLogouts),
      'login / logout on the shard after heal': o.after.join(' / ')
    },
    checks: [
      check('latch still reached the cut-off master', o.reachable),
      check('logouts before the cut were acknowledged', all(o.before, 204)),
      check('every write on the cut shard was refused with 503',
        cutShard.length > 0 && cutShard.every((w) => w.status === 503), statuses(cutShard)),
      // Elsewhere a write may still meet a deadline on a starved machine: it must never be
      // anything but done or a 503, and nearly all must be done.
      check('writes on the other shards succeeded (at least 90%), never 401 or 500',
        elsewhere.length > 0 && mostlyDone(elsewhere), statuses(elsewhere)),
      check('reads, and logins reading a username there, answered 200 or 503, never 401',
        [...o.readSamples, ...readThere].every((s) => s.status === 200 || s.status === 503)),
      check('nothing lost: sessions from before and during the cut answer 200', lost === 0),
      check('nothing resurrected: confirmed logouts answer 401', back === 0),
      check('writes on the shard succeed after healing', o.after.join() === '200,204')
    ]
  }
}

function mostlyDone (writes: Array<{ status: number }>): boolean {
  const done = writes.filter((w) => w.status === 200 || w.status === 204).length
  const refused = writes.filter((w) => w.status === 503).length
  return done + refused === writes.length && done >= writes.length * 0.9
}
