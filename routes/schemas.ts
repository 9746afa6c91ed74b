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
}, {
  additionalProperties: false,
  examples: [{ username: 'alice', password: 'correct horse battery staple' }]
})

export const TokenPair = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds' }),
  refresh_token: Type.String(),
  refresh_expires_in: Type.Integer({ description: 'seconds' }),
  session_id: Type.String()
}, {
  examples: [{
    access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImhzMjU2LS4uLiJ9.' +
      'eyJzdWIiOiJreWt5TzZWVlBvbW55V19jbGRNWEVRIiwic2lkIjoiLi4uIn0.c2lnbmF0dXJl',
    token_type: 'Bearer',
    expires_in: 900,
    refresh_token: 'kykyO6VVPomnyW_cldMXEQ.S_OU8y4axtwhnwqjInDbVA.' +
      'q0bR3x3NnYk1Vd2Jh9uJ8sGm1pTj0f2Q4y5Z6a7B8c9',
    refresh_expires_in: 2592000,
    session_id: 'S_OU8y4axtwhnwqjInDbVA'
  }]
})

export const NoContent = Type.Null({ description: 'No content' })

/** The error statuses of a route, each with the common error body. */
export function errors (...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody]))
}

/** Error statuses every protected route can answer. */
export const PROTECTED_ERRORS = [400, 401, 503]
