import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

// Tests that break a cluster on purpose get a cluster of their own, so that the other
// test files, running in parallel on the shared one, never see the damage. Their ports
// are offsets from the shared test cluster's (TEST_CLUSTER_PORT_BASE, 7100 by default),
// so two test runs with different bases never collide.
// Offsets in use: 300 and 310 health.test.ts.
const sharedBase = Number(process.env.TEST_CLUSTER_PORT_BASE ?? 7100)

const run = promisify(execFile)
const here = path.dirname(new URL(import.meta.url).pathname)
const script = path.join(here, '../../scripts/cluster.sh')

type Test = { teardown: (fn: () => unknown) => void }

async function redisCli (port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])
  return stdout
}

export interface OwnCluster {
  nodes: string
  ports: number[]
  /** The port of the master that serves `key`. */
  masterOf: (key: string) => Promise<number>
  /** kill -9 of one node of this cluster. */
  kill: (port: number) => Promise<void>
  /** Starts a killed node again with its data; it rejoins the cluster. */
  restart: (port: number) => Promise<void>
}

export async function ownCluster (t: Test, offset: number): Promise<OwnCluster> {
  const base = sharedBase + offset
  const dir = await mkdtemp(path.join(tmpdir(), 'latch-test-cluster-'))
  // A loaded machine (the whole suite runs in parallel on two cores) forms clusters slowly.
  const env = {
    ...process.env, CLUSTER_PORT_BASE: String(base), CLUSTER_DIR: dir, CLUSTER_WAIT_SECONDS: '90'
  }
  const cluster = async (...args: string[]) => await run('bash', [script, ...args], { env })
  t.teardown(async () => await cluster('down', '--purge'))
  await cluster('up')

  const ports = [0, 1, 2, 3, 4, 5].map((n) => base + n)
  return {
    ports,
    nodes: ports.map((port) => `127.0.0.1:${port}`).join(','),
    masterOf: async (key) => {
      const slot = Number(await redisCli(base, 'CLUSTER', 'KEYSLOT', key))
      const lines = (await redisCli(base, 'CLUSTER', 'NODES')).trim().split('\n')
      for (const line of lines) {
        const [, address, flags, , , , , , ...ranges] = line.split(' ')
        if (!flags?.includes('master') || flags.includes('fail')) continue
        const serves = ranges.some((range) => {
          const [from, to = from] = range.split('-').map(Number) as [number, number?]
          return slot >= from && slot <= to
        })
        if (serves) return Number(address?.split('@')[0]?.split(':')[1])
      }
      throw new Error(`no master serves slot ${slot}`)
    },
    kill: async (port) => {
      const pid = Number(/process_id:(\d+)/.exec(await redisCli(port, 'INFO', 'server'))?.[1])
      process.kill(pid, 'SIGKILL')
    },
    restart: async (port) => { await cluster('restart-node', String(port)) }
  }
}

/** Polls `check` until it returns true, or fails after `ms`. */
export async function eventually (check: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now()
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`condition not met within ${ms} ms`)
}
