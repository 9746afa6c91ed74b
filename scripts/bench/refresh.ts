import type autocannon from 'autocannon'
import type { BenchUser } from './users.js'
import type { Load } from './load.js'

interface Slot {
  user?: BenchUser
}

/**
 * Drives POST /auth/refresh with rotating tokens. A token may be sent only while it is
 * its user's latest: once a successor came back, sending the old one again is what a
 * thief does, and latch ends the session. So each user is either idle, holding its
 * latest token, or has exactly one request in flight; only an idle user is sent.
 */
export class RefreshDriver {
  private readonly idle: BenchUser[]
  private head = 0
  private readonly inFlight = new Set<BenchUser>()
  /** Users whose token state is unknown after a failed refresh; never sent again. */
  dropped = 0

  constructor (users: BenchUser[]) {
    this.idle = [...users]
  }

  /** Oldest idle user first, so that consecutive requests go to different users. */
  private take (): BenchUser | undefined {
    if (this.head === this.idle.length) return undefined
    const user = this.idle[this.head++]
    if (this.head > 4096) {
      this.idle.splice(0, this.head)
      this.head = 0
    }
    return user
  }

  private release (user: BenchUser): void {
    this.inFlight.delete(user)
    this.idle.push(user)
  }

  private setup (request: autocannon.Request, slot: Slot): autocannon.Request {
    slot.user = this.take()
    // autocannon cannot skip a send: an exhausted pool sends a token that fails, and
    // the run counts it as an error.
    const token = slot.user?.refresh ?? 'no-idle-user'
    if (slot.user !== undefined) this.inFlight.add(slot.user)
    return { ...request, body: JSON.stringify({ refresh_token: token }) }
  }

  private settle (status: number, body: string, slot: Slot): void {
    const user = slot.user
    if (user === undefined) return
    slot.user = undefined
    const token = status === 200 ? successorIn(body) : undefined
    if (token === undefined) {
      this.inFlight.delete(user)
      this.dropped++
      return
    }
    user.refresh = token
    this.release(user)
  }

  /**
   * The autocannon load. One request whose body is rebuilt per send: the token changes
   * with every response, so there is nothing to prebuild.
   */
  load (): Load {
    return {
      requests: [{
        method: 'POST',
        path: '/auth/refresh',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request, context) => this.setup(request, context as Slot),
        onResponse: (status, body, context) => this.settle(status, body, context as Slot)
      }]
    }
  }

  /**
   * Requests still in flight when a run stopped have no answer. Their token is retried
   * once: within latch's grace window that is legitimate and yields the same successor.
   */
  async recover (baseUrl: string): Promise<void> {
    const lost = [...this.inFlight]
    await Promise.all(lost.map(async (user) => {
      const token = await refreshOnce(baseUrl, user.refresh)
      if (token === undefined) {
        this.inFlight.delete(user)
        this.dropped++
      } else {
        user.refresh = token
        this.release(user)
      }
    }))
  }
}

function successorIn (body: string): string | undefined {
  try {
    const token: unknown = JSON.parse(body).refresh_token
    return typeof token === 'string' ? token : undefined
  } catch {
    return undefined
  }
}

/** One refresh outside autocannon; the successor, or undefined on any failure. */
export async function refreshOnce (baseUrl: string, token: string) {
  const res = await fetch(new URL('/auth/refresh', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: token }),
    signal: AbortSignal.timeout(5000)
  }).catch(() => undefined)
  if (res?.status !== 200) return undefined
  return successorIn(await res.text())
}

/** False when latch has no refresh route yet: an unknown route answers 404. */
export async function hasRefreshRoute (baseUrl: string): Promise<boolean> {
  const res = await fetch(new URL('/auth/refresh', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: 'probe' }),
    signal: AbortSignal.timeout(5000)
  })
  await res.arrayBuffer()
  return res.status !== 404
}
