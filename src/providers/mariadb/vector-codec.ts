// VECTOR values travel as little-endian float32 bytes, both ways: as statement
// parameters (no text formatting or parsing) and as result columns.
import { endianness } from 'node:os'

const LITTLE_ENDIAN = endianness() === 'LE'

/** A vector as the little-endian float32 bytes MariaDB stores in a VECTOR column. */
export function encodeVector(vector: readonly number[] | Float32Array): Buffer {
  if (LITTLE_ENDIAN) {
    // a Float32Array is viewed as it is, not copied
    const floats = vector instanceof Float32Array ? vector : Float32Array.from(vector)
    return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength)
  }
  const buf = Buffer.allocUnsafe(vector.length * 4)
  for (let i = 0; i < vector.length; i++) buf.writeFloatLE(vector[i], i * 4)
  return buf
}

/**
 * The numbers in a VECTOR column value. The connector's Buffers are views into a
 * larger packet whose byteOffset is often not a multiple of 4, so the bytes are
 * copied once into an aligned buffer before being viewed as float32.
 */
export function decodeVector(bytes: Uint8Array): number[] {
  if (bytes.byteLength % 4 !== 0)
    throw new Error(`a VECTOR value of ${bytes.byteLength} bytes is not a whole number of float32`)
  if (!LITTLE_ENDIAN) {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    return Array.from({ length: b.length / 4 }, (_, i) => b.readFloatLE(i * 4))
  }
  const floats =
    bytes.byteOffset % 4 === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
      : new Float32Array(new Uint8Array(bytes).buffer) // one block copy for alignment
  // an indexed loop into a preallocated array is ~5x faster than Array.from here
  const out = new Array<number>(floats.length)
  for (let i = 0; i < floats.length; i++) out[i] = floats[i]
  return out
}
