// The API's numeric limits and defaults, declared once: the schemas, the capabilities
// answer, the router and the tools import them from here.

/** Largest `text` of one chunk, in bytes of UTF-8. */
export const MAX_TEXT_BYTES = 1024 * 1024
/** Most chunks one POST /chunks may carry. */
export const MAX_CHUNKS_PER_REQUEST = 1000

/** Most results one search answers, and how many when the request names no `limit`. */
export const MAX_SEARCH_LIMIT = 100
export const DEFAULT_SEARCH_LIMIT = 10
/** Hits below this cosine similarity are left out unless the request names its own `min_score`. */
export const DEFAULT_MIN_SCORE = 0.3

/** HNSW neighbours per node (MariaDB's M) a vector index may be created with. */
export const VECTOR_INDEX_M = { min: 3, max: 200, default: 16 } as const
