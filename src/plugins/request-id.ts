// Request ids (issue 10 §5): a caller's X-Request-Id is kept when it is a sane token
// (so its traces join ours), otherwise one is generated. Fastify puts it in every
// request log line (reqId); this plugin echoes it as a response header, and the
// error handler puts it in every error answer (request_id).
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'

export const REQUEST_ID_HEADER = 'x-request-id'
/** Letters, digits and . _ : - up to 128: safe in logs and headers, enough for UUIDs and trace ids. */
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Fastify's genReqId: the caller's id when sane, else a UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers[REQUEST_ID_HEADER]
  return typeof sent === 'string' && SANE_ID.test(sent) ? sent : randomUUID()
}

export default fp(
  async fastify => {
    fastify.addHook('onRequest', async (request, reply) => {
      reply.header(REQUEST_ID_HEADER, request.id)
    })
  },
  { name: 'request-id' }
)
