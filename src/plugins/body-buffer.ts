// Reads a request body for a parser that only needs it for a moment (to decode it to a
// string). Fastify's reader concatenates the chunks into a fresh buffer per request: for
// the megabytes of a batch of vectors that allocation (new pages from the kernel, every
// time) cost more than JSON.parse itself (bench/RESULTS.md, ingest profile). Here the
// chunks are copied into one buffer kept for the next body. It is written and read only
// synchronously, inside `use`, so requests read at the same time never see each other's
// bytes; bodies larger than SCRATCH_MAX_BYTES get a buffer of their own, not kept.
import type { Readable } from 'node:stream'
import { BadRequestError, PayloadTooLargeError } from '../errors.ts'

export const SCRATCH_MAX_BYTES = 16 * 1024 * 1024

/** The chunks of one body, read whole and checked against the limit and Content-Length. */
export interface ReceivedBody {
  chunks: Buffer[]
  length: number
}

/** Reads `stream` to its end; refuses more than `limit` bytes, or a length other than the declared one. */
export async function receiveBody(
  stream: Readable,
  declaredLength: string | undefined,
  limit: number
): Promise<ReceivedBody> {
  const declared = declaredLength === undefined ? Number.NaN : Number(declaredLength)
  if (declared > limit) throw new PayloadTooLargeError(String(limit))
  return await new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const stop = (): void => {
      stream.removeListener('data', onData)
      stream.removeListener('end', onEnd)
      stream.removeListener('error', onError)
    }
    // an IncomingMessage without setEncoding emits Buffers
    const onData = (bytes: Buffer): void => {
      length += bytes.length
      if (length > limit) {
        stop()
        reject(new PayloadTooLargeError(String(limit)))
        return
      }
      chunks.push(bytes)
    }
    const onEnd = (): void => {
      stop()
      if (!Number.isNaN(declared) && length !== declared) {
        reject(new BadRequestError(`Request body has ${length} bytes but Content-Length says ${declared}`))
        return
      }
      resolve({ chunks, length })
    }
    const onError = (err: Error & { statusCode?: number }): void => {
      stop()
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400
      reject(err)
    }
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('error', onError)
    stream.resume()
  })
}

/** Lends the body to `use` as one contiguous buffer, valid only until `use` returns. */
export class BodyBuffer {
  private scratch = Buffer.alloc(0)

  use<T>(body: ReceivedBody, use: (bytes: Buffer) => T): T {
    if (body.chunks.length === 1) return use(body.chunks[0])
    if (body.length > SCRATCH_MAX_BYTES) return use(Buffer.concat(body.chunks, body.length))
    if (this.scratch.length < body.length) {
      // grown in steps of 1 MiB, so a growing series of bodies does not reallocate each time
      this.scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX_BYTES, Math.ceil(body.length / 2 ** 20) * 2 ** 20))
    }
    let offset = 0
    for (const chunk of body.chunks) offset += chunk.copy(this.scratch, offset)
    return use(this.scratch.subarray(0, body.length))
  }
}
