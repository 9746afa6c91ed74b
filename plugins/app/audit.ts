import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import type { LogoutScope } from './sessions/store.js'
import type { Metrics } from './metrics.js'

// One log line per security event, each with an `event` field, the user when known and
// the request id (request.log carries reqId), and a bump of the matching metric. Each
// event's fields are typed, so a token or a password cannot be passed by mistake.

export interface AuditEvents {
  'account.created': { userId: string }
  'login.succeeded': { userId: string, sessionId: string }
  /**
   * The one event with a username: operators need it to see which account is under
   * attack, and why it gets locked. A username is personal data, and one who types the
   * password into the name field would have it logged, so it is the normalised form (which
   * refuses spaces and most punctuation), and null when the name is no valid username.
   */
  'login.failed': { username: string | null }
  logout: { userId: string, sessionId: string, scope: LogoutScope }
  /** `sessionId` is the session that ended; `endedBy` the session that asked. */
  'session.ended': { userId: string, sessionId: string, endedBy: string }
  /** `retry`: within the grace window, answered; `theft`: after it, the session ended. */
  'refresh.reused': { userId: string, sessionId: string, cause: 'retry' | 'theft' }
  'password.changed': { userId: string, sessionId: string }
  'account.deleted': { userId: string }
  /** A route's own limit (per address or session), or the failed logins of an account. */
  'rate_limit.hit': { route: string, limit: 'route' | 'account' }
}

export type AuditEvent = keyof AuditEvents

export type Audit = <E extends AuditEvent>(
  request: FastifyRequest, event: E, fields: AuditEvents[E]
) => void

declare module 'fastify' {
  interface FastifyInstance {
    audit: Audit
  }
}

type Counts = { [E in AuditEvent]: (metrics: Metrics, fields: AuditEvents[E]) => void }

const COUNTS: Counts = {
  'account.created': (metrics) => metrics.accounts.inc(),
  'login.succeeded': (metrics) => metrics.logins.inc('success'),
  'login.failed': (metrics) => metrics.logins.inc('failure'),
  logout: (metrics, { scope }) => metrics.revocations.inc(`logout_${scope}`),
  'session.ended': (metrics) => metrics.revocations.inc('session_delete'),
  'refresh.reused': (metrics, { cause }) => {
    metrics.refreshReuse.inc(cause)
    if (cause === 'theft') metrics.revocations.inc('refresh_reuse')
  },
  'password.changed': (metrics) => metrics.revocations.inc('password_change'),
  'account.deleted': (metrics) => metrics.revocations.inc('account_deleted'),
  'rate_limit.hit': (metrics, { route, limit }) => metrics.rateLimited.inc(route, limit)
}

export default fp(async function audit (fastify) {
  const metrics = fastify.metrics

  function audit<E extends AuditEvent> (
    request: FastifyRequest, event: E, fields: AuditEvents[E]
  ): void {
    const line: Record<string, unknown> = { event, ...fields }
    request.log.info(line, 'audit')
    const count: Counts[E] = COUNTS[event]
    count(metrics, fields)
  }
  fastify.decorate<Audit>('audit', audit)
}, { name: 'audit', dependencies: ['metrics'] })
