// A request's vector in the form both stores keep: float32. It arrives as JSON
// numbers or as base64 of little-endian float32 (embedding APIs' encoding_format
// "base64"). The schema has checked the shape; this checks the rest: the base64
// alphabet and decoded length, then what only the float32 values show: NaN/Infinity,
// bounds, and a vector that is all zeros once rounded to float32 (1e-300 is 0 in float32).
import { endianness } from 'node:os'
import { InvalidVectorError } from '../errors.ts'
import type { Vector } from '../providers/vector-provider.ts'
import { BASE64_RULES, VECTOR_COMPONENT_MAX, base64VectorLength, vectorForms } from '../schemas/chunk.ts'

const LITTLE_ENDIAN = endianness() === 'LE'
/** the base64 alphabet with padding at the end; only run to explain a string that did not decode */
const BASE64_ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * `input` as the domain carries it: the numbers as they came, or the float32 values
 * a base64 string decodes to; throws InvalidVectorError naming `where` (e.g. body.chunks[3].vector).
 */
export function readVector(input: number[] | string, dimension: number, where: string): Vector {
  if (typeof input === 'string') return decodeBase64Vector(input, dimension, where)
  // the schema bounds every number to ±1e9, so only underflow to 0 is left to check
  for (const x of input) if (Math.fround(x) !== 0) return input
  throw allZero(where)
}

/**
 * Base64 of little-endian float32 values, checked value by value. The usual vector is
 * decoded and checked in one pass: the right length, every character decoded (Node's
 * decoder skips characters outside the alphabet, so a skipped one leaves bytes
 * missing) and none of the URL-safe ones it also accepts. Anything else is explained
 * by base64Problem.
 */
function decodeBase64Vector(text: string, dimension: number, where: string): Float32Array {
  const floats = new Float32Array(dimension)
  const exact =
    text.length === base64VectorLength(dimension) &&
    text.indexOf('-') === -1 &&
    text.indexOf('_') === -1 &&
    (LITTLE_ENDIAN ? Buffer.from(floats.buffer).write(text, 'base64') : bigEndianDecode(text, floats)) === dimension * 4
  if (!exact) throw base64Problem(text, dimension, where)
  let nonZero = false
  for (let i = 0; i < dimension; i++) {
    const x = floats[i]
    // NaN fails both comparisons, so it is caught here too
    if (!(x >= -VECTOR_COMPONENT_MAX && x <= VECTOR_COMPONENT_MAX)) {
      throw new InvalidVectorError(
        `${where}: value ${i} is ${String(x)} (values count from 0); every value must be a finite float32 between -1e9 and 1e9`
      )
    }
    if (x !== 0) nonZero = true
  }
  if (!nonZero) throw allZero(where)
  return floats
}

/** Base64 of the vector's little-endian float32 bytes (GET /chunks?vector_encoding=base64). */
export function encodeBase64Vector(vector: readonly number[]): string {
  const floats = Float32Array.from(vector)
  if (LITTLE_ENDIAN) return Buffer.from(floats.buffer).toString('base64')
  const buf = Buffer.allocUnsafe(floats.length * 4)
  for (let i = 0; i < floats.length; i++) buf.writeFloatLE(floats[i], i * 4)
  return buf.toString('base64')
}

/** Why `text` is not the base64 of `dimension` float32 values, as the message to answer with. */
function base64Problem(text: string, dimension: number, where: string): Error {
  const notBase64 = new InvalidVectorError(
    `${where} must be ${vectorForms(dimension)}; got a string that is not base64 (${BASE64_RULES})`
  )
  if (!BASE64_ALPHABET.test(text)) return notBase64
  if (text.length % 4 !== 0) {
    return new InvalidVectorError(
      `${where} is not base64: ${text.length} characters, not a multiple of 4; pad it with =`
    )
  }
  const bytes = (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0)
  if (bytes % 4 !== 0) {
    return new InvalidVectorError(
      `${where}: the base64 string decodes to ${bytes} bytes, not a whole number of float32 values (4 bytes each); ` +
        `send ${dimension} values = ${dimension * 4} bytes (${base64VectorLength(dimension)} base64 characters)`
    )
  }
  if (bytes !== dimension * 4) {
    return new InvalidVectorError(
      `${where}: the base64 string decodes to ${bytes} bytes = ${bytes / 4} float32 values; ` +
        `VECTOR_DIMENSION is ${dimension} (${dimension * 4} bytes, ${base64VectorLength(dimension)} base64 characters)`
    )
  }
  return notBase64
}

function bigEndianDecode(text: string, floats: Float32Array): number {
  const b = Buffer.from(text, 'base64')
  for (let i = 0; i < floats.length && i * 4 + 4 <= b.length; i++) floats[i] = b.readFloatLE(i * 4)
  return b.length
}

function allZero(where: string): Error {
  return new InvalidVectorError(
    `${where} must not be all zeros in float32 (the form the stores keep; ` +
      'magnitudes below about 1.4e-45 become 0): a zero vector has no direction for cosine similarity'
  )
}
