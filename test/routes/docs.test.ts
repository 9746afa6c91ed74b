import t, { type Test } from 'tap'
import { readFile } from 'node:fs/promises'
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { Validator } from '@seriousme/openapi-schema-validator'
import app, { options } from '../../app.js'
import { build, get, testEnv } from '../helpers/app.js'

// The OpenAPI document is part of the contract: it must be valid, and it must show every
// route and every status that the routes declare.

/** The contract's routes, each with the statuses the contract names for it. */
const CONTRACT: Array<[string, string, number[]]> = [
  ['post', '/auth/register', [201, 400, 409, 429]],
  ['post', '/auth/login', [200, 400, 401, 429, 503]],
  ['post', '/auth/refresh', [200, 400, 401, 429, 503]],
  ['post', '/auth/logout', [204, 401, 503]],
  ['get', '/auth/sessions', [200, 401, 503]],
  ['delete', '/auth/sessions/{id}', [204, 401, 404, 503]],
  ['get', '/me', [200, 401, 503]],
  ['delete', '/me', [204, 401, 503]],
  ['post', '/auth/password', [204, 400, 401, 503]],
  ['get', '/protected', [200, 401, 503]],
  ['get', '/health/live', [200]],
  ['get', '/health/ready', [200, 503]],
  ['get', '/.well-known/jwks.json', [200, 404]],
  ['get', '/docs', [200]],
  ['get', '/metrics', [200]]
]

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>
  security?: Array<Record<string, string[]>>
  parameters?: Array<{ name: string, required: boolean }>
}

interface Document {
  openapi: string
  info: { title: string, version: string }
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown>, securitySchemes: Record<string, unknown> }
  tags: Array<{ name: string }>
}

/** latch, with every route it registers and the statuses each declares. */
async function latchWithRoutes (t: Test) {
  const routes: RouteOptions[] = []
  const server: FastifyInstance = Fastify({ ...options, logger: false })
  server.addHook('onRoute', (route) => { routes.push(route) })
  t.teardown(() => server.close())
  await server.register(fp(app), { env: testEnv() })
  await server.ready()
  return { server, routes }
}

/** How a route's URL reads in the document: `/me/` is `/me`, `:id` is `{id}`. */
function documented (url: string): string {
  const path = url.length > 1 && url.endsWith('/') ? url.slice(0, -1) : url
  return path.replace(/:([A-Za-z_]+)/g, '{$1}')
}

t.test('the OpenAPI document', async (t) => {
  const { server, routes } = await latchWithRoutes(t)
  const res = await get(server, '/docs/json')
  t.equal(res.statusCode, 200)
  const doc = res.json<Document>()

  t.test('is valid OpenAPI 3', async (t) => {
    const validator = new Validator()
    const result = await validator.validate(res.json())
    t.same(result.errors, undefined, 'no validation errors')
    t.ok(result.valid)
    t.equal(validator.version, '3.0')
  })

  t.test('names latch and its version', async (t) => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'))
    t.same(doc.info.title, pkg.name)
    t.same(doc.info.version, pkg.version)
    t.ok(doc.tags.length > 0, 'tags are described')
  })

  t.test('lists every route of the contract with its statuses', async (t) => {
    for (const [method, path, statuses] of CONTRACT) {
      const operation = doc.paths[path]?.[method]
      t.ok(operation, `${method.toUpperCase()} ${path} is documented`)
      const listed = Object.keys(operation?.responses ?? {}).map(Number)
      for (const status of statuses) t.ok(listed.includes(status), `${path} lists ${status}`)
    }
  })

  t.test('lists every status each route declares', async (t) => {
    const shown = routes.filter((route) => route.method !== 'HEAD' && !route.schema?.hide)
    t.ok(shown.length >= CONTRACT.length)
    for (const route of shown) {
      const operation = doc.paths[documented(route.url)]?.[String(route.method).toLowerCase()]
      t.ok(operation, `${String(route.method)} ${route.url} is documented`)
      const declared = Object.keys(route.schema?.response ?? {})
      t.same(Object.keys(operation?.responses ?? {}).sort(), declared.sort(),
        `${String(route.method)} ${route.url}: ${declared.join(', ')}`)
    }
  })

  t.test('has the bearer scheme, used by every protected route', async (t) => {
    t.same(doc.components.securitySchemes.bearerAuth,
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    t.same(doc.paths['/me']?.get?.security, [{ bearerAuth: [] }])
    t.same(doc.paths['/auth/logout']?.post?.security, [{ bearerAuth: [] }])
    t.notOk(doc.paths['/auth/login']?.post?.security, 'login needs no token')
  })

  t.test('describes the error body once, as a component', async (t) => {
    t.ok(doc.components.schemas.ErrorBody, 'ErrorBody is a component')
    const unauthorised = doc.paths['/me']?.get?.responses['401']?.content?.['application/json']
    t.equal(unauthorised?.schema.$ref, '#/components/schemas/ErrorBody')
  })

  t.test('shows examples and optional defaults', async (t) => {
    const login = doc.paths['/auth/login']?.post as unknown as {
      requestBody: { content: Record<string, { example?: unknown }> }
      responses: Record<string, { content: Record<string, { example?: unknown }> }>
    }
    t.match(login.requestBody.content['application/json']?.example, { username: String })
    t.match(login.responses['200']?.content['application/json']?.example,
      { token_type: 'Bearer', expires_in: Number })
    const scope = doc.paths['/auth/logout']?.post?.parameters?.find((p) => p.name === 'scope')
    t.equal(scope?.required, false, 'scope has a default, so a client may leave it out')
  })
})

t.test('/docs serves the page and its assets itself', async (t) => {
  const server = await build(t)
  const page = await get(server, '/docs')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /swagger-ui-bundle\.js/)
  t.notMatch(page.body, /(src|href)="https?:/, 'no asset from another host')

  const bundle = await get(server, '/docs/static/swagger-ui-bundle.js')
  t.equal(bundle.statusCode, 200)
  t.match(bundle.headers['content-type'], /javascript/)
  const initializer = await get(server, '/docs/static/swagger-initializer.js')
  t.match(initializer.body, /validatorUrl: null/, 'no call to an online validator')
})
