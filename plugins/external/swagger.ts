import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import fp from 'fastify-plugin'
import type { FastifySchema } from 'fastify'
import fastifySwagger, { type SwaggerTransform } from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { OpenAPIV3 } from 'openapi-types'

// The OpenAPI document at /docs/json and a page to browse it at /docs. The page's scripts
// and styles are served by @fastify/swagger-ui itself, so it works without a network.

const here = path.dirname(fileURLToPath(import.meta.url))

interface PackageInfo { name: string, version: string, description?: string }

/** latch's package.json: two folders up from the source, three from the build in dist/. */
function packageInfo (): PackageInfo {
  for (let dir = here; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json')
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as PackageInfo
  }
  throw new Error(`no package.json above ${here}`)
}

const TAGS = [
  { name: 'auth', description: 'Registration, login, refresh and logout' },
  { name: 'sessions', description: "The caller's live sessions" },
  { name: 'account', description: 'The account behind the token' },
  { name: 'example', description: 'A route that only a live session may call' },
  { name: 'keys', description: 'Keys that verify access tokens' },
  { name: 'health', description: 'Liveness and readiness probes' },
  { name: 'operations', description: 'Metrics and this documentation' },
  { name: 'account page', description: 'The self-service page for a browser' }
]

const DOCS_PREFIX = '/docs'

/**
 * @fastify/swagger-ui hides its own routes; the two a client may want are listed with
 * the rest. Its static files stay hidden.
 */
const DOCS_ROUTES: Record<string, FastifySchema> = {
  [DOCS_PREFIX]: {
    tags: ['operations'],
    summary: 'This documentation, as a page to browse',
    produces: ['text/html'],
    response: { 200: { type: 'string', description: 'An HTML page' } }
  },
  [`${DOCS_PREFIX}/json`]: {
    tags: ['operations'],
    summary: 'This documentation, as an OpenAPI 3 document',
    response: { 200: { type: 'object', description: 'The OpenAPI document' } }
  }
}

type Schema = Record<string, unknown>

/**
 * Routes inline a shared schema that carries an `$id` (the error body, `ErrorBody`); the
 * document names it once under components and refers to it from each response. The
 * component is copied as written, so such a schema must be valid OpenAPI 3.0 as it is.
 */
function shareNamed (response: unknown, named: Map<string, Schema>): unknown {
  if (typeof response !== 'object' || response === null) return response
  const shared: Record<string, unknown> = {}
  for (const [status, schema] of Object.entries(response as Record<string, Schema>)) {
    const { $id, ...rest } = schema
    if (typeof $id === 'string') named.set($id, rest)
    shared[status] = typeof $id === 'string'
      ? { $ref: `#/components/schemas/${$id}`, description: rest.description }
      : schema
  }
  return shared
}

/** `/me/` is how Fastify records a prefix's root; clients call `/me`. */
function withoutTrailingSlash (url: string): string {
  return url.length > 1 && url.endsWith('/') ? url.slice(0, -1) : url
}

function transformRoute (named: Map<string, Schema>): SwaggerTransform {
  return ({ schema, url }) => {
    const path = withoutTrailingSlash(url)
    const docs = DOCS_ROUTES[path]
    if (docs !== undefined) return { schema: docs, url: path }
    return { schema: { ...schema, response: shareNamed(schema?.response, named) }, url: path }
  }
}

/** A parameter with a default (logout's `scope`) is one a client may leave out. */
function optionalDefaults (paths: OpenAPIV3.PathsObject): void {
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations ?? {})) {
      const parameters = (operation as OpenAPIV3.OperationObject).parameters ?? []
      for (const parameter of parameters as OpenAPIV3.ParameterObject[]) {
        const schema = parameter.schema as OpenAPIV3.SchemaObject | undefined
        if (schema?.default !== undefined) parameter.required = false
      }
    }
  }
}

function finishDocument (named: Map<string, Schema>) {
  return (document: unknown) => {
    const api = (document as { openapiObject: OpenAPIV3.Document }).openapiObject
    api.components ??= {}
    api.components.schemas = { ...api.components.schemas, ...Object.fromEntries(named) }
    optionalDefaults(api.paths)
    return api
  }
}

export default fp(async function swagger (fastify) {
  const pkg = packageInfo()
  const named = new Map<string, Schema>()

  await fastify.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: pkg.name, version: pkg.version, description: pkg.description },
      tags: TAGS,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }
        }
      }
    },
    transform: transformRoute(named),
    transformObject: finishDocument(named)
  })
  await fastify.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX })
}, { name: 'swagger' })
