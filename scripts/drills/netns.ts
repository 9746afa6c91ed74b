import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Defer } from './cluster.js'
import { sleep, until } from './context.js'
import { anyTopology, clusterOk, command, type Address, type NodeInfo } from './nodes.js'

// A six-node cluster whose nodes have addresses of their own, so that the network
// between them can be cut while latch, in the root namespace, still reaches every node.
//
//   root namespace: latch, veth <tag>h = 10.213.S.1/24
//        |
//   <tag>-sw: a bridge, one port per node and one for the root namespace
//        |
//   <tag>-n0 … <tag>-n5: eth0 = 10.213.S.11 … .16, one redis-server each
//
// S comes from the port base, so two drills on different bases never share a subnet or
// a name. A cut gives the other nodes' addresses a hardware address that no interface
// has, inside the victim's namespace and the victim's address in theirs: packets between
// them go nowhere, silently, as in a real partition. Linux, root (CAP_NET_ADMIN), iproute2.

const run = promisify(execFile)
const nodeConf = findUp(path.dirname(fileURLToPath(import.meta.url)), 'cluster-config/node.conf')
/** A locally administered hardware address that no interface carries. */
const NOWHERE = '02:00:00:00:00:01'
const FORM_LIMIT_MS = 60_000

function findUp (from: string, file: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, file))) return path.join(dir, file)
  }
  throw new Error(`${file} not found above ${from}`)
}

async function ip (...args: string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? ''
    throw new Error(`ip ${args.join(' ')}: ${stderr.trim() || String(err)}`, { cause: err })
  }
}

export interface NetnsCluster {
  nodes: string
  addresses: Address[]
  view: () => Promise<NodeInfo[]>
  /** The cluster as `from` sees it. */
  viewFrom: (from: Address) => Promise<NodeInfo[]>
  /** Cuts the node on `port` off from the other nodes; the root namespace still reaches it. */
  cut: (port: number) => Promise<void>
  heal: (port: number) => Promise<void>
  /** Until every node says ok and each replica's link to its master is up. */
  settled: () => Promise<boolean>
  stop: () => Promise<void>
}

interface Layout {
  tag: string
  subnet: string
  ports: number[]
  dir: string
}

const nodeNs = (layout: Layout, i: number) => `${layout.tag}-n${i}`
const nodeAddress = (layout: Layout, i: number) => `${layout.subnet}.${11 + i}`

/** Builds the namespaces, starts the nodes and forms the cluster; `defer` removes it all. */
export async function startNetnsCluster (base: number, defer: Defer): Promise<NetnsCluster> {
  await preflight()
  const layout: Layout = {
    tag: `ld${base}`,
    subnet: `10.213.${base % 256}`,
    ports: [0, 1, 2, 3, 4, 5].map((n) => base + n),
    dir: await mkdtemp(path.join(tmpdir(), 'latch-drill-netns-'))
  }
  let stopped: Promise<void> | undefined
  const stop = async () => { stopped ??= teardown(layout); await stopped }
  defer(stop)
  // What a crashed run with the same base left behind carries these names: remove it.
  await teardown({ ...layout, dir: '' })
  await network(layout)
  await Promise.all(layout.ports.map(async (_, i) => await startNode(layout, i)))
  await form(layout)
  return describe(layout, stop)
}

async function preflight (): Promise<void> {
  if (process.platform !== 'linux') throw new Error('network namespaces need Linux')
  if (process.getuid?.() !== 0) throw new Error('network namespaces need root (CAP_NET_ADMIN)')
  await ip('-V').catch((err) => {
    throw new Error('`ip` is missing: apt-get install -y iproute2', { cause: err })
  })
}

async function network (layout: Layout): Promise<void> {
  const { tag, subnet } = layout
  const sw = `${tag}-sw`
  await ip('netns', 'add', sw)
  await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge')
  await ip('-n', sw, 'link', 'set', 'br0', 'up')
  await ip('link', 'add', `${tag}h`, 'type', 'veth', 'peer', 'name', 'up0', 'netns', sw)
  await ip('-n', sw, 'link', 'set', 'up0', 'master', 'br0', 'up')
  await ip('addr', 'add', `${subnet}.1/24`, 'dev', `${tag}h`)
  await ip('link', 'set', `${tag}h`, 'up')
  for (let i = 0; i < layout.ports.length; i++) {
    const ns = nodeNs(layout, i)
    await ip('netns', 'add', ns)
    await ip('-n', sw, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    await ip('-n', sw, 'link', 'set', `p${i}`, 'master', 'br0', 'up')
    await ip('-n', ns, 'link', 'set', 'lo', 'up')
    await ip('-n', ns, 'addr', 'add', `${nodeAddress(layout, i)}/24`, 'dev', 'eth0')
    await ip('-n', ns, 'link', 'set', 'eth0', 'up')
  }
}

async function startNode (layout: Layout, i: number): Promise<void> {
  const port = layout.ports[i] as number
  const dir = path.join(layout.dir, String(port))
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, 'redis.conf'), [
    `include "${nodeConf}"`,
    `port ${port}`,
    `bind ${nodeAddress(layout, i)}`,
    // Reachable only inside namespaces this drill made, through its own bridge.
    'protected-mode no',
    // The production setting; see cluster-config/production.md.
    'cluster-require-full-coverage no',
    `dir "${dir}"`,
    'cluster-config-file nodes.conf',
    `pidfile "${dir}/redis.pid"`,
    `logfile "${dir}/redis.log"`,
    ''
  ].join('\n'))
  await run('ip', ['netns', 'exec', nodeNs(layout, i), 'redis-server', `${dir}/redis.conf`])
  const node = { host: nodeAddress(layout, i), port }
  await until(`node ${node.host}:${port} answers`, async () =>
    await command(node, 'PING').then(() => true, () => false), 10_000)
}

function addresses (layout: Layout): Address[] {
  return layout.ports.map((port, i) => ({ host: nodeAddress(layout, i), port }))
}

async function form (layout: Layout): Promise<void> {
  const all = addresses(layout).map(({ host, port }) => `${host}:${port}`)
  await run('redis-cli', ['--cluster', 'create', ...all, '--cluster-replicas', '1',
    '--cluster-yes'], { timeout: FORM_LIMIT_MS })
  await until('the namespaced cluster is ok', async () => await settled(layout), FORM_LIMIT_MS)
}

async function settled (layout: Layout): Promise<boolean> {
  const nodes = addresses(layout)
  const oks = await Promise.all(nodes.map(clusterOk))
  if (!oks.every(Boolean)) return false
  const views = await Promise.all(nodes.map(async (node) => await command(node, 'ROLE')))
  const linked = views.every((role) => {
    const [kind, , , state] = role as [string, string, number, string]
    return kind === 'master' || state === 'connected'
  })
  if (!linked) return false
  const view = await anyTopology(nodes)
  return view.filter((n) => n.role === 'master' && n.slots.length > 0).length === 3 &&
    view.filter((n) => n.role === 'replica').length === 3 && !view.some((n) => n.failing)
}

/** In `ns`, sends traffic for `address` nowhere, or (undo) back to ARP. */
async function blackout (ns: string, address: string, undo: boolean): Promise<void> {
  if (undo) {
    await ip('-n', ns, 'neigh', 'del', address, 'dev', 'eth0').catch(() => {})
    return
  }
  await ip('-n', ns, 'neigh', 'replace', address, 'lladdr', NOWHERE, 'nud', 'permanent',
    'dev', 'eth0')
}

async function partition (layout: Layout, port: number, undo: boolean): Promise<void> {
  const victim = layout.ports.indexOf(port)
  if (victim < 0) throw new Error(`no node on port ${port}`)
  for (let i = 0; i < layout.ports.length; i++) {
    if (i === victim) continue
    await blackout(nodeNs(layout, victim), nodeAddress(layout, i), undo)
    await blackout(nodeNs(layout, i), nodeAddress(layout, victim), undo)
  }
}

function describe (layout: Layout, stop: () => Promise<void>): NetnsCluster {
  const nodes = addresses(layout)
  return {
    nodes: nodes.map(({ host, port }) => `${host}:${port}`).join(','),
    addresses: nodes,
    view: async () => await anyTopology(nodes),
    viewFrom: async (from) => await anyTopology([from]),
    cut: async (port) => await partition(layout, port, false),
    heal: async (port) => await partition(layout, port, true),
    settled: async () => await settled(layout).catch(() => false),
    stop
  }
}

/** The pid in a node's pidfile, if it is still that node's redis-server. */
async function nodePid (layout: Layout, i: number): Promise<number | undefined> {
  const port = layout.ports[i] as number
  const pid = Number(await readFile(path.join(layout.dir, String(port), 'redis.pid'), 'utf8')
    .catch(() => ''))
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  return cmdline.startsWith(`redis-server ${nodeAddress(layout, i)}:${port}`) ? pid : undefined
}

/** Stops this drill's nodes by pid, then removes its namespaces and its veth. */
async function teardown (layout: Layout): Promise<void> {
  const nsList = await ip('netns', 'list').catch(() => '')
  const ours = nsList.split('\n').map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${layout.tag}-`))
  for (let i = 0; i < layout.ports.length; i++) {
    const pid = layout.dir === ''
      ? await strayPid(nodeNs(layout, i), ours)
      : await nodePid(layout, i)
    if (pid !== undefined) process.kill(pid, 'SIGKILL')
  }
  for (const ns of ours) await ip('netns', 'del', ns).catch(() => {})
  const veth = `${layout.tag}h`
  await ip('link', 'del', veth).catch(() => {})
  // Namespaces go away asynchronously; wait so that a next run can reuse the names.
  const vethLeft = async () => await ip('link', 'show', veth).then(() => true, () => false)
  for (let i = 0; i < 50 && await vethLeft(); i++) await sleep(100)
  if (layout.dir !== '') await rm(layout.dir, { recursive: true, force: true })
}

/** A redis-server left running in one of our namespaces by a run that crashed. */
async function strayPid (ns: string, ours: string[]): Promise<number | undefined> {
  if (!ours.includes(ns)) return undefined
  const pids = (await ip('netns', 'pids', ns).catch(() => '')).split('\n').map(Number)
  for (const pid of pids.filter((p) => p > 0)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.startsWith('redis-server ')) return pid
  }
  return undefined
}
