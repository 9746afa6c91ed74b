import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import calculateSlot from 'cluster-key-slot'
import type { Redis } from 'ioredis'
import type { Nodes } from './redis-nodes.js'

// The shape of the inserted sessions, which the bytes-per-session figure depends on:
// two sessions per user (a phone and a laptop), a common desktop browser's user agent,
// an IPv4 address, and a 30-day lifetime (REFRESH_TOKEN_TTL's default).
export const SESSIONS_PER_USER = 2
const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 ' +
  '(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const TTL_SECONDS = 2_592_000
/** HSET and EXPIRE per session, ZADD and PEXPIREAT for the user's index. */
const COMMANDS_PER_USER = 2 * SESSIONS_PER_USER + 2
/** Users generated between two writes to the masters. */
const BATCH_USERS = 2000

const LF = 0x0a
const MINUS = 0x2d

/** One command in RESP. Every argument here is ASCII, so its length is its byte count. */
function resp (args: Array<string | number>): string {
  let out = `*${args.length}\r\n`
  for (const arg of args) {
    const text = String(arg)
    out += `$${text.length}\r\n${text}\r\n`
  }
  return out
}

/**
 * A raw connection to one master, fed RESP as fast as the socket takes it. Measured here
 * for 300,000 sessions: ioredis pipelines took 11.5 s with this process busy on its core
 * the whole time; this takes 7 s at half a core, and Redis itself is then the limit.
 * Every command sent here is answered with one line (an integer, or an error starting
 * with '-'), so counting line ends tells when all have been answered.
 */
class RawPipe {
  private readonly socket: net.Socket
  private sent = 0
  private answered = 0
  private lineStart = true
  private failure: string | undefined
  private done: (() => void) | undefined

  constructor (port: number) {
    this.socket = net.connect(port, '127.0.0.1')
    this.socket.on('data', (data: Buffer) => this.count(data))
    this.socket.on('error', (err) => this.fail(err.message))
  }

  private fail (why: string): void {
    this.failure ??= why
    this.done?.()
  }

  private count (data: Buffer): void {
    if (this.lineStart && data[0] === MINUS) this.fail(data.toString('latin1', 0, 200))
    for (let at = data.indexOf(LF); at !== -1; at = data.indexOf(LF, at + 1)) {
      this.answered++
      if (data[at + 1] === MINUS) this.fail(data.toString('latin1', at + 1, at + 200))
    }
    this.lineStart = data[data.length - 1] === LF
    if (this.answered === this.sent) this.done?.()
  }

  async write (text: string, commands: number): Promise<void> {
    this.sent += commands
    // latin1: the text is ASCII, and this encoding skips UTF-8's per-character checks.
    if (!this.socket.write(text, 'latin1')) await once(this.socket, 'drain')
  }

  /** Waits for every answer, then closes; throws the first error Redis answered. */
  async finish (): Promise<void> {
    if (this.answered < this.sent && this.failure === undefined) {
      await new Promise<void>((resolve) => { this.done = resolve })
    }
    this.socket.destroy()
    if (this.failure !== undefined) throw new Error(`inserting sessions failed: ${this.failure}`)
  }

  close (): void {
    this.socket.destroy()
  }
}

/** Random bytes per session: 16 for the session id, 32 for the refresh token's hash. */
const RANDOM_PER_SESSION = 48
const RANDOM_PER_USER = 16 + RANDOM_PER_SESSION * SESSIONS_PER_USER

/**
 * One user's sessions in latch's layout (plugins/app/keys.ts and
 * plugins/app/sessions/scripts.ts): a hash per session, with a TTL, and the user's index
 * of sessions scored by expiry, which expires with its last session. `random` holds the
 * user's random bytes after its id.
 */
function userCommands (prefix: string, uid: string, n: number, random: Buffer): string {
  const now = Date.now()
  const expiry = now + TTL_SECONDS * 1000
  const index: Array<number | string> = []
  let out = ''
  for (let s = 0; s < SESSIONS_PER_USER; s++) {
    const at = s * RANDOM_PER_SESSION
    const sid = random.toString('base64url', at, at + 16)
    const key = `${prefix}session:{${uid}}:${sid}`
    out += resp(['HSET', key, 'username', `user-${n}`, 'created_at', now, 'last_used_at', now,
      'refresh', random.toString('base64url', at + 16, at + RANDOM_PER_SESSION),
      'user_agent', USER_AGENT, 'ip', `198.51.100.${(n + s) % 256}`])
    out += resp(['EXPIRE', key, TTL_SECONDS])
    index.push(expiry, sid)
  }
  const indexKey = `${prefix}sessions:{${uid}}`
  return out + resp(['ZADD', indexKey, ...index]) + resp(['PEXPIREAT', indexKey, expiry])
}

interface Chunk {
  text: string
  users: number
}

/** Generates users from `first` on, grouped by the master that serves each. */
function batch (nodes: Nodes, prefix: string, first: number, users: number) {
  const byMaster = new Map<Redis, Chunk>()
  // One call for the whole batch: a call per id cost more than the ids themselves.
  const random = randomBytes(users * RANDOM_PER_USER)
  let uid = ''
  for (let n = first; n < first + users; n++) {
    const mine = random.subarray((n - first) * RANDOM_PER_USER, (n - first + 1) * RANDOM_PER_USER)
    uid = mine.toString('base64url', 0, 16)
    // All of a user's keys carry {uid} as their hash tag, so the tag alone picks the slot.
    const master = nodes.bySlot[calculateSlot(uid)] as Redis
    const chunk = byMaster.get(master) ?? { text: '', users: 0 }
    chunk.text += userCommands(prefix, uid, n, mine.subarray(16))
    chunk.users++
    byMaster.set(master, chunk)
  }
  return { byMaster, last: uid }
}

/**
 * Inserts about `count` sessions straight into the masters, one pipe per master.
 * Returns how many, and one user's id whose keys can be inspected.
 */
export async function insertSessions (nodes: Nodes, prefix: string, count: number) {
  const pipes = new Map(nodes.masters.map((m) => [m, new RawPipe(Number(m.options.port))]))
  const users = Math.ceil(count / SESSIONS_PER_USER)
  let sample = ''
  try {
    for (let first = 0; first < users; first += BATCH_USERS) {
      const { byMaster, last } = batch(nodes, prefix, first, Math.min(BATCH_USERS, users - first))
      sample = last
      await Promise.all([...byMaster].map(([master, chunk]) =>
        pipes.get(master)?.write(chunk.text, chunk.users * COMMANDS_PER_USER)))
    }
    await Promise.all([...pipes.values()].map((pipe) => pipe.finish()))
  } finally {
    for (const pipe of pipes.values()) pipe.close()
  }
  return { inserted: users * SESSIONS_PER_USER, sample }
}

/** How Redis stores a key and what it says the key costs (MEMORY USAGE). */
export async function describeKey (nodes: Nodes, key: string) {
  const node = nodes.bySlot[calculateSlot(key)] as Redis
  const [type, encoding, bytes] = await Promise.all([
    node.type(key), node.object('ENCODING', key), node.memory('USAGE', key)])
  return { key, type, encoding: String(encoding), bytes: Number(bytes) }
}

/** An inserted user's index and first session, to explain the bytes per session. */
export async function describeSample (nodes: Nodes, prefix: string, uid: string) {
  const indexKey = `${prefix}sessions:{${uid}}`
  const node = nodes.bySlot[calculateSlot(uid)] as Redis
  const [sid = ''] = await node.zrange(indexKey, 0, 0)
  return await Promise.all([
    describeKey(nodes, `${prefix}session:{${uid}}:${sid}`), describeKey(nodes, indexKey)])
}
