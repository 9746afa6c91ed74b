import type { Result } from 'ioredis'
import type { RedisClient } from '../../external/redis.js'
import { newId, type Keys } from '../keys.js'
import type { ClusterCalls } from '../cluster-calls.js'
import { hashToken, type RefreshTokens } from './refresh-token.js'
import {
  CREATE_SESSION, END_SESSION, END_SESSIONS, LIST_SESSIONS, ROTATE_REFRESH, TOUCH_SESSION
} from './scripts.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    latchCreateSession(
      user: string, session: string, index: string,
      credential: string, ttl: number, sid: string, ...fields: string[]
    ): Result<number, Context>
    latchRotateRefresh(
      session: string, index: string,
      presented: string, successor: string, graceMs: number, ttl: number, sid: string
    ): Result<RotateOutcome, Context>
    latchTouchSession(session: string): Result<number, Context>
    latchListSessions(index: string, sessionPrefix: string): Result<string[][], Context>
    latchEndSession(session: string, index: string, sid: string): Result<number, Context>
    latchEndSessions(index: string, sessionPrefix: string, keep: string): Result<number, Context>
  }
}

export type RotateOutcome = 'rotated' | 'retried' | 'reused' | 'missing'

export type Rotation =
  | { outcome: 'invalid' }
  | { outcome: 'reused' | 'missing', userId: string, sessionId: string }
  | { outcome: 'rotated' | 'retried', userId: string, sessionId: string, refreshToken: string }

export interface NewSession {
  userId: string
  username: string
  /** The user's credential version that the password was checked against. */
  credential: string
  userAgent: string
  ip: string
}

export interface IssuedSession {
  sessionId: string
  refreshToken: string
}

/** What the authenticate hook learns about a live session. */
export interface LiveSession {
  username: string
}

export interface SessionInfo {
  id: string
  createdAt: number
  lastUsedAt: number
  userAgent: string
  ip: string
}

export type LogoutScope = 'local' | 'others' | 'global'

export interface SessionSettings {
  ttlSeconds: number
  graceSeconds: number
}

/** A session's last use is recorded at most this often: not a write per request. */
export const TOUCH_INTERVAL_MS = 60_000

function defineScripts (redis: RedisClient): void {
  redis.defineCommand('latchCreateSession', { numberOfKeys: 3, lua: CREATE_SESSION })
  redis.defineCommand('latchRotateRefresh', { numberOfKeys: 2, lua: ROTATE_REFRESH })
  redis.defineCommand('latchTouchSession', { numberOfKeys: 1, lua: TOUCH_SESSION })
  redis.defineCommand('latchListSessions', { numberOfKeys: 1, lua: LIST_SESSIONS })
  redis.defineCommand('latchEndSession', { numberOfKeys: 2, lua: END_SESSION })
  redis.defineCommand('latchEndSessions', { numberOfKeys: 1, lua: END_SESSIONS })
}

export function createSessionStore (
  redis: RedisClient, calls: ClusterCalls, keys: Keys,
  tokens: RefreshTokens, settings: SessionSettings
) {
  const { guard, durable } = calls
  const { ttlSeconds, graceSeconds } = settings
  defineScripts(redis)
  defineScripts(calls.writer)

  /** Returns null when the user was deleted or changed password after the check. */
  async function create (session: NewSession): Promise<IssuedSession | null> {
    const { userId, username, credential, userAgent, ip } = session
    const sessionId = newId()
    const refreshToken = tokens.issue(userId, sessionId)
    const fields = [
      'username', username, 'refresh', hashToken(refreshToken), 'user_agent', userAgent, 'ip', ip
    ]
    const created = await durable<number>((writes) => writes.latchCreateSession(
      keys.user(userId), keys.session(userId, sessionId), keys.sessions(userId),
      credential, ttlSeconds, sessionId, ...fields))
    return created === 0 ? null : { sessionId, refreshToken }
  }

  /** The hot path: one command, answered by the session's shard. */
  async function check (userId: string, sessionId: string): Promise<LiveSession | null> {
    const key = keys.session(userId, sessionId)
    const [username, lastUsedAt] = await guard(
      redis.hmget(key, 'username', 'last_used_at'))
    if (username === null || username === undefined) return null
    if (Date.now() - Number(lastUsedAt) > TOUCH_INTERVAL_MS) touch(key)
    return { username }
  }

  function touch (key: string): void {
    // Fire and forget: a lost update only makes last_used_at a minute staler.
    redis.latchTouchSession(key).catch(() => {})
  }

  /**
   * Exchanges a refresh token for its successor. Anything latch did not issue is
   * "invalid" and touches nothing; the successor comes only with "rotated" or "retried".
   */
  async function rotate (presented: string): Promise<Rotation> {
    const token = tokens.parse(presented)
    if (token === null) return { outcome: 'invalid' }
    const { userId, sessionId } = token
    const successor = tokens.successor(token)
    const outcome = await durable<RotateOutcome>((writes) => writes.latchRotateRefresh(
      keys.session(userId, sessionId), keys.sessions(userId),
      hashToken(token.value), hashToken(successor), graceSeconds * 1000, ttlSeconds, sessionId))
    if (outcome !== 'rotated' && outcome !== 'retried') return { outcome, userId, sessionId }
    return { outcome, userId, sessionId, refreshToken: successor }
  }

  async function list (userId: string): Promise<SessionInfo[]> {
    const rows = await guard(
      redis.latchListSessions(keys.sessions(userId), keys.sessionPrefix(userId)))
    return rows.map(([id = '', createdAt, lastUsedAt, userAgent = '', ip = '']) => ({
      id, createdAt: Number(createdAt), lastUsedAt: Number(lastUsedAt), userAgent, ip
    }))
  }

  async function end (userId: string, sessionId: string): Promise<boolean> {
    const ended = await durable<number>((writes) => writes.latchEndSession(
      keys.session(userId, sessionId), keys.sessions(userId), sessionId))
    return ended === 1
  }

  /** Ends every session of the user, or every one but `keep`. Returns how many ended. */
  async function endAll (userId: string, keep = ''): Promise<number> {
    return await durable<number>((writes) => writes.latchEndSessions(
      keys.sessions(userId), keys.sessionPrefix(userId), keep))
  }

  async function logout (userId: string, sessionId: string, scope: LogoutScope) {
    if (scope === 'local') return await end(userId, sessionId)
    return await endAll(userId, scope === 'others' ? sessionId : '')
  }

  return { create, check, rotate, list, end, endAll, logout, ttlSeconds }
}

export type SessionStore = ReturnType<typeof createSessionStore>
