import { Type, type TSchema } from '@sinclair/typebox'

// Schemas shared by several routes. Every route declares every status it can send, so the
// serialiser never leaks a field and the OpenAPI document is complete.

export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String()
}, { $id: 'ErrorBody', description: 'Every error has this shape' })

/** Long passphrases welcome; the bound keeps one request from costing argon2 too much. */
export const Password = Type.String({ minLength: 8, maxLength: 1024 })

export const Credentials = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  password: Password
}, { additionalProperties: false })

export const TokenPair = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds' }),
  refresh_token: Type.String(),
  refresh_expires_in: Type.Integer({ description: 'seconds' }),
  session_id: Type.String()
})

export const NoContent = Type.Null({ description: 'No content' })

/** The error statuses of a route, each with the common error body. */
export function errors (...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody]))
}

/** Error statuses every protected route can answer. */
export const PROTECTED_ERRORS = [400, 401, 503]
