import { STATUS_CODES } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { headersFor } from './errors.js'

interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
}

function bodyFor (error: FastifyError, statusCode: number): ErrorBody {
  const hidden = statusCode >= 500 && error.code === undefined
  return {
    statusCode,
    code: error.code ?? 'INTERNAL_SERVER_ERROR',
    error: STATUS_CODES[statusCode] ?? 'Error',
    // Unexpected failures keep their details in the log, never in the response.
    message: hidden ? 'Internal Server Error' : error.message
  }
}

function statusOf (error: FastifyError): number {
  const status = error.statusCode ?? 500
  return status >= 400 && status <= 599 ? status : 500
}

/** A cause's message only: ioredis errors carry the command's arguments, which are secret. */
function causeOf (error: FastifyError): string | undefined {
  return error.cause instanceof Error ? error.cause.message : undefined
}

export default fp(async function errors (fastify) {
  fastify.setErrorHandler(function onError (error: FastifyError, request, reply) {
    const statusCode = statusOf(error)
    if (statusCode >= 500 && error.code === undefined) {
      request.log.error({ err: error }, 'request failed')
    } else if (statusCode >= 500) {
      request.log.warn({ code: error.code, cause: causeOf(error) }, 'request refused')
    } else {
      request.log.info({ code: error.code }, 'request refused')
    }
    return reply.code(statusCode).headers(headersFor(error.code)).send(bodyFor(error, statusCode))
  })

  fastify.setNotFoundHandler(function onNotFound (request, reply) {
    // The URL is not echoed: its query string may carry a token.
    return reply.code(404).send({
      statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: 'No such route'
    })
  })
}, { name: 'errors' })
