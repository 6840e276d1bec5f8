// Fastify's clientErrorHandler: answers what Node's HTTP parser refuses before any
// request exists (oversized URL or headers, a bad Content-Length, bytes that are not
// HTTP) in the gateway's error shape with a VG_ code, logged with a request id.
import { randomUUID } from 'node:crypto'
import { maxHeaderSize, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { BadRequestError, HeadersTooLargeError, RequestTimeoutError } from './errors.ts'

// llhttp error codes a client can fix, in words.
const PARSER_REASONS: Record<string, string> = {
  HPE_INVALID_CONTENT_LENGTH: 'Content-Length is not a valid number',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length and Transfer-Encoding: chunked were both sent; send one',
  HPE_INVALID_TRANSFER_ENCODING: 'Transfer-Encoding is invalid',
  HPE_INVALID_CHUNK_SIZE: 'a chunk size of the chunked body is invalid',
  HPE_INVALID_METHOD: 'the method is not an HTTP method',
  HPE_INVALID_URL: 'the request target is not a valid URL path',
  HPE_INVALID_VERSION: 'the HTTP version is invalid',
  HPE_INVALID_HEADER_TOKEN: 'a header name or value holds a character HTTP does not allow',
  HPE_INVALID_CONSTANT: 'the request line is not HTTP'
}

function clientError(err: NodeJS.ErrnoException): Error & { statusCode: number; code: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new HeadersTooLargeError(
      `The request URL and headers are larger than ${maxHeaderSize / 1024} KiB; send a shorter URL or smaller headers (put large input in the JSON body)`
    )
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new RequestTimeoutError('The request was not received in time; send it again')
  const reason =
    PARSER_REASONS[err.code ?? ''] ?? `the request is not well-formed HTTP/1.1 (${err.code ?? 'parse error'})`
  return new BadRequestError(`Malformed HTTP request: ${reason}`)
}

export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const error = clientError(err)
  const requestId = randomUUID()
  this.log.info(
    { reqId: requestId, code: error.code, parserError: err.code, msg: err.message },
    'malformed HTTP request refused'
  )
  if (socket.writable) {
    const body = JSON.stringify({
      statusCode: error.statusCode,
      code: error.code,
      error: STATUS_CODES[error.statusCode],
      message: error.message,
      request_id: requestId
    })
    socket.write(
      `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? ''}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`
    )
  }
  socket.destroy()
}
