import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import {
  anyTopology, command, masterOf, pidOf, replicasOf, type Address, type NodeInfo
} from './nodes.js'

// A six-node cluster of its own for a drill (or a test that breaks its cluster on
// purpose), run by scripts/cluster.sh on 127.0.0.1, ports base..base+5, data in a fresh
// temporary directory. Whoever starts one registers its removal before it exists, so a
// cluster that fails halfway up is removed too.

const run = promisify(execFile)
const script = findUp(path.dirname(fileURLToPath(import.meta.url)), 'scripts/cluster.sh')

/** The repository's file from scripts/drills, dist/scripts/drills or any other build. */
function findUp (from: string, file: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, file))) return path.join(dir, file)
  }
  throw new Error(`${file} not found above ${from}`)
}

export const HOST = '127.0.0.1'

export interface DrillCluster {
  /** REDIS_CLUSTER_NODES for latch. */
  nodes: string
  ports: number[]
  /** The port of the master that serves `key` now. */
  masterOf: (key: string) => Promise<number>
  /** The ports of the replicas of the master on `port`. */
  replicasOf: (port: number) => Promise<number[]>
  /** The cluster as the first node that answers sees it. */
  view: () => Promise<NodeInfo[]>
  /** Sends one command to one node. */
  command: (port: number, name: string, ...args: Array<string | number>) => Promise<unknown>
  /** The pid of a node, to kill it later without asking it first. */
  pidOf: (port: number) => Promise<number>
  /** CONFIG SET on every node; a node started again reads its file instead. */
  configure: (name: string, value: string) => Promise<void>
  /** kill -9 of one node of this cluster. */
  kill: (port: number) => Promise<void>
  /** Starts a killed node again with its data; `wait` until the whole cluster is ok. */
  restart: (port: number, wait?: boolean) => Promise<void>
  stop: () => Promise<void>
}

export type Defer = (fn: () => unknown) => void

/**
 * Starts a cluster on ports `base`..`base`+5 and hands its removal to `defer` first.
 * `waitSeconds` bounds how long the cluster may take to form (a loaded machine is slow).
 */
export async function startCluster (
  base: number, defer: Defer, waitSeconds = 90
): Promise<DrillCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'latch-drill-cluster-'))
  const env = {
    ...process.env,
    CLUSTER_PORT_BASE: String(base),
    CLUSTER_DIR: dir,
    CLUSTER_WAIT_SECONDS: String(waitSeconds)
  }
  const cluster = async (...args: string[]) => await run('bash', [script, ...args], { env })
  let stopped: Promise<unknown> | undefined
  const stop = async () => { stopped ??= cluster('down', '--purge'); await stopped }
  defer(stop)
  try {
    await cluster('up')
  } catch {
    // On a starved machine a new cluster now and then never settles (a node keeps
    // seeing another as failing): start it over once from nothing.
    await cluster('down', '--purge')
    await cluster('up')
  }
  return describe(base, cluster, stop)
}

type Script = (...args: string[]) => Promise<unknown>

function describe (base: number, cluster: Script, stop: () => Promise<void>): DrillCluster {
  const ports = [0, 1, 2, 3, 4, 5].map((n) => base + n)
  const at = (port: number): Address => ({ host: HOST, port })
  const view = async () => await anyTopology(ports.map(at))
  return {
    ports,
    nodes: ports.map((port) => `${HOST}:${port}`).join(','),
    view,
    masterOf: async (key) => masterOf(await view(), key).port,
    replicasOf: async (port) => {
      const nodes = await view()
      const master = nodes.find((node) => node.port === port && node.role === 'master')
      if (master === undefined) throw new Error(`node ${port} is not a master`)
      return replicasOf(nodes, master).map((node) => node.port)
    },
    command: async (port, name, ...args) => await command(at(port), name, ...args),
    pidOf: async (port) => await pidOf(at(port)),
    configure: async (name, value) => {
      const set = async (port: number) => await command(at(port), 'CONFIG', 'SET', name, value)
      await Promise.all(ports.map(set))
    },
    kill: async (port) => { process.kill(await pidOf(at(port)), 'SIGKILL') },
    restart: async (port, wait = true) => {
      await cluster('restart-node', String(port), ...(wait ? [] : ['--no-wait']))
    },
    stop
  }
}

/**
 * The settings of cluster-config/production.md that change what a drill sees, set on the
 * running nodes so that a drill does not depend on node.conf. With full coverage
 * required, every shard refuses commands during the second between a master's failure
 * and its replica's promotion, not only the shard that lost its master.
 */
export async function productionSettings (cluster: DrillCluster): Promise<void> {
  await cluster.configure('cluster-require-full-coverage', 'no')
}
