import { Redis } from 'ioredis'
import calculateSlot from 'cluster-key-slot'

// Talking to single cluster nodes behind latch's back: what a drill needs to find its
// victim, break it, and watch the cluster heal.

export interface Address {
  host: string
  port: number
}

export interface NodeInfo extends Address {
  id: string
  role: 'master' | 'replica'
  /** Flagged fail or pfail by the node that was asked. */
  failing: boolean
  /** The id of its master, for a replica. */
  masterId: string | undefined
  /** Slot ranges served, for a master. */
  slots: Array<[number, number]>
}

/**
 * One command on one node, over a connection of its own that gives up at once: a dead or
 * paused node must fail the call, not hang the drill.
 */
export async function command (
  node: Address, name: string, ...args: Array<string | number>
): Promise<unknown> {
  const redis = new Redis({
    host: node.host,
    port: node.port,
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 3000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await redis.call(name, ...args)
  } finally {
    redis.disconnect()
  }
}

function parseLine (line: string): NodeInfo {
  const [id = '', address = '', flags = '', masterId = '-', , , , , ...ranges] = line.split(' ')
  const hostPort = address.split('@')[0] ?? ''
  const at = hostPort.lastIndexOf(':')
  const flagList = flags.split(',')
  return {
    id,
    host: hostPort.slice(0, at),
    port: Number(hostPort.slice(at + 1)),
    role: flagList.includes('master') ? 'master' : 'replica',
    failing: flagList.includes('fail') || flagList.includes('fail?'),
    masterId: masterId === '-' ? undefined : masterId,
    slots: ranges.filter((range) => !range.startsWith('[')).map((range) => {
      const [from, to = from] = range.split('-').map(Number) as [number, number?]
      return [from, to]
    })
  }
}

/** The cluster as `node` sees it. */
export async function topology (node: Address): Promise<NodeInfo[]> {
  const text = String(await command(node, 'CLUSTER', 'NODES'))
  return text.trim().split('\n').map(parseLine)
}

/** The topology as told by the first of `nodes` that answers. */
export async function anyTopology (nodes: Address[]): Promise<NodeInfo[]> {
  let last: unknown
  for (const node of nodes) {
    try {
      return await topology(node)
    } catch (err) {
      last = err
    }
  }
  throw new Error('no node of the cluster answers', { cause: last })
}

/** The master that serves `key` in `view`. */
export function masterOf (view: NodeInfo[], key: string): NodeInfo {
  const slot = calculateSlot(key)
  const master = view.find((node) => node.role === 'master' && !node.failing &&
    node.slots.some(([from, to]) => slot >= from && slot <= to))
  if (master === undefined) throw new Error(`no master serves slot ${slot}`)
  return master
}

export function replicasOf (view: NodeInfo[], master: NodeInfo): NodeInfo[] {
  return view.filter((node) => node.masterId === master.id)
}

/** The operating system's pid of a node, asked before the node is harmed. */
export async function pidOf (node: Address): Promise<number> {
  const info = String(await command(node, 'INFO', 'server'))
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1])
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid from ${node.host}:${node.port}`)
  return pid
}

/** True when the node answers and says its cluster is ok. */
export async function clusterOk (node: Address): Promise<boolean> {
  try {
    return /cluster_state:ok/.test(String(await command(node, 'CLUSTER', 'INFO')))
  } catch {
    return false
  }
}

/** Where keys live in `view`: the port of the master of a key's slot. */
export function placement (view: NodeInfo[]): (key: string) => number {
  return (key) => masterOf(view, key).port
}
