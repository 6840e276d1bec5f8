// Renders every error in one shape: {statusCode, code, error, message, request_id}, with a
// stable VG_ code. Fastify's own errors (bad JSON, body too large, validation)
// are translated here, so a client never sees a non-VG code or a 500 for bad input.
import { STATUS_CODES } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import {
  BadRequestError,
  InternalError,
  InvalidJsonError,
  InvalidVectorError,
  NotFoundError,
  PayloadTooLargeError,
  RETRY_AFTER_SECONDS,
  UnsupportedMediaTypeError,
  causeChain
} from '../errors.ts'
import { isVectorPath } from './validation.ts'

/** The stable VG_ code of a declared error (errors.ts), for answers this handler renders itself. */
const codeOf = (E: new () => { code: string }): string => new E().code

const BAD_REQUEST = codeOf(BadRequestError)
const INVALID_JSON = codeOf(InvalidJsonError)
const INTERNAL = codeOf(InternalError)
const NOT_FOUND = codeOf(NotFoundError)

/** Fastify's own request errors, answered with the code of the declared error they are. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: INVALID_JSON,
  FST_ERR_CTP_EMPTY_JSON_BODY: INVALID_JSON,
  FST_ERR_CTP_BODY_TOO_LARGE: codeOf(PayloadTooLargeError),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: codeOf(UnsupportedMediaTypeError),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: BAD_REQUEST,
  FST_ERR_CTP_INVALID_TYPE: BAD_REQUEST
}

function errorCode(err: FastifyError): string {
  if (err.validation !== undefined) {
    return err.validation.some(v => isVectorPath(v.instancePath)) ? codeOf(InvalidVectorError) : BAD_REQUEST
  }
  if (err.code?.startsWith('VG_')) return err.code
  if (err.code !== undefined && FASTIFY_CODES[err.code] !== undefined) return FASTIFY_CODES[err.code]
  if (err instanceof SyntaxError) return INVALID_JSON
  const status = err.statusCode ?? 500
  return status >= 500 ? INTERNAL : BAD_REQUEST
}

export default fp(
  async fastify => {
    fastify.setErrorHandler(async (err: FastifyError, request, reply) => {
      const statusCode = err.validation !== undefined ? 400 : (err.statusCode ?? 500)
      const code = errorCode(err)
      if (statusCode >= 500) request.log.error({ err, detail: causeChain(err) }, 'request failed')
      else request.log.info({ code, msg: err.message }, 'request rejected')
      // 5xx answers never carry driver text (it is in the log line above): they point at it.
      const message =
        statusCode < 500
          ? err.message
          : `${code === INTERNAL ? 'Internal error.' : err.message.replace(/\.?$/, '.')} See the gateway log for request ${request.id}`
      const retryAfter = statusCode === 503 ? RETRY_AFTER_SECONDS[code] : undefined
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter))
      // an error may carry its own headers (a busy provider's Retry-After inside a partial delete)
      const headers = (err as { headers?: Record<string, string> }).headers
      if (headers !== undefined) void reply.headers(headers)
      return await reply
        .code(statusCode)
        .send({ statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message, request_id: request.id })
    })
    fastify.setNotFoundHandler(async (request, reply) => {
      return await reply.code(404).send({
        statusCode: 404,
        code: NOT_FOUND,
        error: 'Not Found',
        message: `No route ${request.method} ${request.url.split('?')[0]}; see /docs`,
        request_id: request.id
      })
    })
  },
  { name: 'error-handler' }
)
