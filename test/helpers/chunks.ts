// Deterministic test data: chunks with vectors that point in known directions.
import { TEST_DIMENSION } from './app.ts'

export interface ChunkBody {
  user_id: number
  file_id: number
  chunk_index: number
  group_key?: string
  file_type?: number
  start_line: number
  end_line: number
  text: string
  vector: number[]
  created?: number
}

/** A unit-ish vector along axis `axis` with a small tilt towards the next axis. */
export function axisVector(axis: number, tilt = 0, dimension = TEST_DIMENSION): number[] {
  const v = new Array<number>(dimension).fill(0)
  v[axis % dimension] = 1
  v[(axis + 1) % dimension] = tilt
  return v
}

export function chunk(userId: number, fileId: number, index: number, overrides: Partial<ChunkBody> = {}): ChunkBody {
  return {
    user_id: userId,
    file_id: fileId,
    chunk_index: index,
    group_key: 'DEFAULT',
    start_line: index * 10,
    end_line: index * 10 + 9,
    text: `user ${userId} file ${fileId} chunk ${index}`,
    vector: axisVector(index, 0.1),
    ...overrides
  }
}

// the contract tests' cosine, so every test scores vectors the same way
export { cosine } from '../providers/provider-contract.ts'
