import type { DrillContext, DrillResult } from './context.js'
import { logoutKill, logoutKillDefaults } from './logout-kill.js'
import { masterKill, masterKillDefaults } from './master-kill.js'
import { mastersDown, mastersDownDefaults } from './masters-down.js'
import { partition, partitionDefaults } from './partition.js'
import { replicaKill, replicaKillDefaults } from './replica-kill.js'
import { slowNode, slowNodeDefaults } from './slow-node.js'
import { soak, soakDefaults } from './soak.js'

// Every drill run.ts knows: its name, its cluster's port offset (the tests use the same
// offsets from TEST_CLUSTER_PORT_BASE), and how to run it at full length.

export interface DrillEntry {
  offset: number
  summary: string
  /** `durationMs` replaces the drill's default length when given. */
  run: (ctx: DrillContext, durationMs?: number) => Promise<DrillResult>
}

function lasting<T extends { durationMs: number }> (defaults: T, durationMs?: number): T {
  return durationMs === undefined ? defaults : { ...defaults, durationMs }
}

export const drills: Record<string, DrillEntry> = {
  'master-kill': {
    offset: 400,
    summary: 'kill -9 of a master under steady GET /me load',
    run: async (ctx, durationMs) => await masterKill(ctx, lasting(masterKillDefaults, durationMs))
  },
  'logout-kill': {
    offset: 410,
    summary: 'a burst of logouts on one shard, then kill -9 of its master',
    // One burst, no duration: --duration is ignored.
    run: async (ctx) => await logoutKill(ctx, logoutKillDefaults)
  },
  'replica-kill': {
    offset: 420,
    summary: 'kill -9 of a replica: reads go on, durable writes on its shard answer 503',
    run: async (ctx, durationMs) => await replicaKill(ctx, lasting(replicaKillDefaults, durationMs))
  },
  'masters-down': {
    offset: 430,
    summary: 'every master down, then back from its AOF: 503 throughout, memory flat',
    run: async (ctx, durationMs) => await mastersDown(ctx, lasting(mastersDownDefaults, durationMs))
  },
  'slow-node': {
    offset: 440,
    summary: 'CLIENT PAUSE on one master: its shard times out as 503, the others stay fast',
    run: async (ctx, durationMs) => await slowNode(ctx, lasting(slowNodeDefaults, durationMs))
  },
  partition: {
    offset: 450,
    summary: 'a master cut off from the other nodes (network namespaces; root, Linux)',
    run: async (ctx, durationMs) => await partition(ctx, lasting(partitionDefaults, durationMs))
  },
  soak: {
    offset: 460,
    summary: 'steady mixed traffic: memory flat, every key but users and usernames has a TTL',
    run: async (ctx, durationMs) => await soak(ctx, lasting(soakDefaults, durationMs))
  }
}
