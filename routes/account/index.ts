import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'

// The self-service page: static files beside this module, sent as they are. They sit in
// the same folder as this index file because autoload then skips them; in a folder of
// their own it would import account.js as a server plugin.

const here = path.dirname(fileURLToPath(import.meta.url))

// The page may talk to latch and nothing else, and no inline script or style runs, so a
// user agent string that slipped into the markup could still not execute.
const POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
  "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"
].join('; ')

const HEADERS = {
  'content-security-policy': POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The page holds tokens while open; no copy of it or its script should outlive that.
  'cache-control': 'no-store'
}

const FILES = [
  { url: '/', file: 'account.html', type: 'text/html', summary: 'Account page' },
  { url: '/account.js', file: 'account.js', type: 'text/javascript', summary: 'Its script' },
  { url: '/account.css', file: 'account.css', type: 'text/css', summary: 'Its style sheet' }
]

const accountPage: FastifyPluginAsyncTypebox = async (fastify) => {
  for (const { url, file, type, summary } of FILES) {
    // Read once at startup: a missing file stops the server rather than a request.
    const body = await readFile(path.join(here, file), 'utf8')
    const contentType = `${type}; charset=utf-8`

    fastify.get(url, {
      schema: {
        tags: ['account page'],
        summary,
        response: { 200: Type.String() }
      }
    }, async (_request, reply) => reply.headers(HEADERS).type(contentType).send(body))
  }
}

export default accountPage
