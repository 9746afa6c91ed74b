import { Redis } from 'ioredis'

/** Direct connections to each node of the bench's cluster, outside latch. */
export interface Nodes {
  all: Redis[]
  /** The master that serves each of the 16384 slots. */
  bySlot: Redis[]
  masters: Redis[]
}

function field (info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim()
}

export async function openNodes (ports: number[]): Promise<Nodes> {
  const all = ports.map((port) => new Redis({ host: '127.0.0.1', port, lazyConnect: true }))
  await Promise.all(all.map((node) => node.connect()))
  const byPort = new Map(ports.map((port, i) => [port, all[i] as Redis]))
  const bySlot: Redis[] = []
  for (const [from, to, master] of await all[0]!.cluster('SLOTS')) {
    const node = byPort.get(master?.[1] ?? 0)
    if (node === undefined) throw new Error(`slot ${from} is served outside the cluster`)
    for (let slot = from; slot <= to; slot++) bySlot[slot] = node
  }
  return { all, bySlot, masters: [...new Set(bySlot)] }
}

export async function closeNodes (nodes: Nodes): Promise<void> {
  await Promise.all(nodes.all.map((node) => node.quit()))
}

export async function nodePids (nodes: Nodes): Promise<number[]> {
  const infos = await Promise.all(nodes.all.map((node) => node.info('server')))
  return infos.map((info) => Number(field(info, 'process_id')))
}

/** used_memory summed over the masters: the data once, without its replica copies. */
export async function mastersMemory (nodes: Nodes): Promise<number> {
  const infos = await Promise.all(nodes.masters.map((node) => node.info('memory')))
  return infos.reduce((sum, info) => sum + Number(field(info, 'used_memory')), 0)
}

async function quiet (node: Redis): Promise<boolean> {
  const info = await node.info()
  const busy = ['aof_rewrite_in_progress', 'aof_rewrite_scheduled', 'rdb_bgsave_in_progress']
  if (busy.some((name) => field(info, name) !== '0')) return false
  const offset = field(info, 'master_repl_offset')
  const replicas = info.match(/^slave\d+:.*$/gm) ?? []
  return replicas.every((line) => line.includes(`offset=${offset},`))
}

/**
 * Waits until no node rewrites its AOF and every replica has caught up: after a bulk
 * insert both go on for a while and would steal CPU from the next measurement.
 */
export async function waitQuiet (nodes: Nodes, maxMs = 180_000): Promise<void> {
  const deadline = Date.now() + maxMs
  while (Date.now() < deadline) {
    const states = await Promise.all(nodes.all.map(quiet))
    if (states.every(Boolean)) return
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`the cluster was still busy after ${maxMs / 1000} s`)
}
