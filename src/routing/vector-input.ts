// A request's vector in the form both stores keep: float32. It arrives as JSON
// numbers or as base64 of little-endian float32 (embedding APIs' encoding_format
// "base64"). The schema has checked the shape; this checks what only the float32
// values show: the decoded length, NaN/Infinity, bounds, and a vector that is all
// zeros once rounded to float32 (1e-300 is 0 in float32).
import { endianness } from 'node:os'
import { InvalidVectorError } from '../errors.ts'
import { VECTOR_COMPONENT_MAX, base64VectorLength } from '../schemas/chunk.ts'

const LITTLE_ENDIAN = endianness() === 'LE'

export interface ReadVector {
  /** the numbers, as the domain (ChunkRecord, SearchQuery) carries them */
  vector: number[]
  /** the same vector in float32; MariaDB writes these bytes as they are */
  vectorF32: Float32Array
}

/** `input` as numbers and float32; throws InvalidVectorError naming `where` (e.g. body.chunks[3].vector). */
export function readVector (input: number[] | string, dimension: number, where: string): ReadVector {
  if (typeof input === 'string') {
    const vectorF32 = decodeBase64Vector(input, dimension, where)
    return { vector: Array.from(vectorF32), vectorF32 }
  }
  const vectorF32 = Float32Array.from(input)
  refuseAllZero(vectorF32, where)
  return { vector: input, vectorF32 }
}

/** Base64 of little-endian float32 values, checked value by value. */
export function decodeBase64Vector (text: string, dimension: number, where: string): Float32Array {
  const bytes = Buffer.from(text, 'base64')
  if (bytes.length % 4 !== 0) {
    throw new InvalidVectorError(`${where}: the base64 string decodes to ${bytes.length} bytes, not a whole number of float32 values (4 bytes each); ` +
      `send ${dimension} values = ${dimension * 4} bytes (${base64VectorLength(dimension)} base64 characters)`)
  }
  if (bytes.length !== dimension * 4) {
    throw new InvalidVectorError(`${where}: the base64 string decodes to ${bytes.length} bytes = ${bytes.length / 4} float32 values; ` +
      `VECTOR_DIMENSION is ${dimension} (${dimension * 4} bytes, ${base64VectorLength(dimension)} base64 characters)`)
  }
  const floats = new Float32Array(dimension)
  // one block copy into an aligned buffer (Buffer.from's bytes may start at any offset)
  if (LITTLE_ENDIAN) new Uint8Array(floats.buffer).set(bytes)
  else for (let i = 0; i < dimension; i++) floats[i] = bytes.readFloatLE(i * 4)
  for (let i = 0; i < dimension; i++) {
    const x = floats[i]
    // NaN fails both comparisons, so it is caught here too
    if (!(x >= -VECTOR_COMPONENT_MAX && x <= VECTOR_COMPONENT_MAX)) {
      throw new InvalidVectorError(`${where}: value ${i} is ${String(x)} (values count from 0); every value must be a finite float32 between -1e9 and 1e9`)
    }
  }
  refuseAllZero(floats, where)
  return floats
}

/** Base64 of the vector's little-endian float32 bytes (GET /chunks?vector_encoding=base64). */
export function encodeBase64Vector (vector: readonly number[]): string {
  const floats = Float32Array.from(vector)
  if (LITTLE_ENDIAN) return Buffer.from(floats.buffer).toString('base64')
  const buf = Buffer.allocUnsafe(floats.length * 4)
  for (let i = 0; i < floats.length; i++) buf.writeFloatLE(floats[i], i * 4)
  return buf.toString('base64')
}

function refuseAllZero (floats: Float32Array, where: string): void {
  for (let i = 0; i < floats.length; i++) if (floats[i] !== 0) return
  throw new InvalidVectorError(`${where} must not be all zeros in float32 (the form the stores keep; ` +
    'magnitudes below about 1.4e-45 become 0): a zero vector has no direction for cosine similarity')
}
