import { performance } from 'node:perf_hooks'
import v8 from 'node:v8'
import vm from 'node:vm'
import type { FastifyInstance, InjectOptions } from 'fastify'

// Load for the drills goes through `inject`: the whole Fastify request path without
// sockets, so two cores go to latch and Redis rather than to an HTTP client.

export interface Sample {
  /** When the request started, ms on the drill's clock (performance.now()). */
  at: number
  ms: number
  /** 0 when inject itself failed. */
  status: number
  /** The port of the master that held the user's keys when the drill began. */
  shard: number
  kind: string
}

export async function timed (
  server: FastifyInstance, request: InjectOptions, shard: number, kind: string
): Promise<Sample> {
  const at = performance.now()
  let status = 0
  try {
    status = (await server.inject(request)).statusCode
  } catch {}
  return { at, ms: performance.now() - at, status, shard, kind }
}

export function bearer (token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` }
}

export interface Running {
  samples: Sample[]
  inFlight: () => number
  maxInFlight: () => number
  /** Stops starting requests and waits for those in flight. */
  stop: () => Promise<Sample[]>
}

/** `clients` loops, each starting its next request when the previous one answered. */
export function closedLoop (clients: number, step: (client: number) => Promise<Sample>): Running {
  const samples: Sample[] = []
  const state = { running: true }
  const loops = Array.from({ length: clients }, async (_, client) => {
    while (state.running) samples.push(await step(client))
  })
  return {
    samples,
    inFlight: () => (state.running ? clients : 0),
    maxInFlight: () => clients,
    stop: async () => { state.running = false; await Promise.all(loops); return samples }
  }
}

const TICK_MS = 10

/**
 * Starts `perSecond` requests a second whatever the answers, like clients that do not
 * wait: if latch queued work while the cluster is away, requests in flight would grow.
 */
export function openLoop (perSecond: number, step: (n: number) => Promise<Sample>): Running {
  const samples: Sample[] = []
  const pending = new Set<Promise<void>>()
  const started = performance.now()
  let sent = 0
  let max = 0
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - started) * perSecond / 1000)
    for (; sent < due; sent++) {
      const request: Promise<void> = step(sent).then((sample) => {
        samples.push(sample)
        pending.delete(request)
      })
      pending.add(request)
    }
    max = Math.max(max, pending.size)
  }, TICK_MS)
  return {
    samples,
    inFlight: () => pending.size,
    maxInFlight: () => max,
    stop: async () => { clearInterval(timer); await Promise.all(pending); return samples }
  }
}

/** Nearest-rank percentile; 0 for no values. */
export function percentile (values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil(p / 100 * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0
}

export const round = (ms: number) => Math.round(ms)

/** Counts of each status, e.g. "200: 5120, 503: 88". */
export function statusCounts (statuses: number[]): string {
  const counts = new Map<number, number>()
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1)
  return [...counts].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(', ')
}

let collect: (() => void) | undefined

/** Full garbage collection, so two readings compare live memory rather than garbage. */
function collectGarbage (): void {
  if (collect === undefined) {
    v8.setFlagsFromString('--expose-gc')
    collect = vm.runInNewContext('gc') as () => void
  }
  collect()
}

export interface Memory {
  heapUsed: number
  rss: number
}

export function memory (): Memory {
  collectGarbage()
  const { heapUsed, rss } = process.memoryUsage()
  return { heapUsed, rss }
}

export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
