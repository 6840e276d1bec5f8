// Derives invalid variants of a valid request from its TypeBox/JSON schema: for
// every property, values that break its type, bounds, pattern or length, plus a
// missing required field and an unknown field. Used to fuzz every endpoint.
interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  minimum?: number
  maximum?: number
  minLength?: number
  pattern?: string
  minItems?: number
  maxItems?: number
  enum?: unknown[]
  not?: unknown
  additionalProperties?: boolean
  anyOf?: JsonSchema[]
  contentEncoding?: string
}

export interface Mutation {
  name: string
  value: unknown
}

function invalidValues(schema: JsonSchema): unknown[] {
  const out: unknown[] = []
  // a union: what each branch forbids (every value here breaks the other branches' types too)
  if (schema.anyOf !== undefined) return unionValues(schema.anyOf)
  if (schema.enum !== undefined) out.push('not-an-allowed-value', 7)
  switch (schema.type) {
    case 'integer':
      out.push('12x', 1.5, true, null, [1])
      if (schema.minimum !== undefined) out.push(schema.minimum - 1)
      if (schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER) out.push(schema.maximum + 1)
      if (schema.maximum === Number.MAX_SAFE_INTEGER) out.push(2 ** 53 + 2)
      break
    case 'number':
      out.push('0.5', null, {}, Number.POSITIVE_INFINITY)
      if (schema.minimum !== undefined) out.push(schema.minimum - 0.5)
      if (schema.maximum !== undefined) out.push(schema.maximum + 0.5)
      break
    case 'string':
      out.push(5, null, ['a'])
      if (schema.minLength !== undefined) out.push('')
      // non-ASCII too: every pattern is ASCII-only, so a letter outside ASCII or an astral
      // character (two UTF-16 units) must fail it
      if (schema.pattern !== undefined) out.push('bad key!', 'x'.repeat(65), 'clé', 'key\u{1F600}')
      break
    case 'boolean':
      out.push('yes', 2)
      break
    case 'array':
      out.push('not-an-array', {})
      if (schema.minItems !== undefined) out.push([])
      if (schema.items?.type === 'number' && schema.minItems !== undefined) {
        out.push(new Array(schema.minItems + 1).fill(0.5), new Array(schema.minItems).fill(0), [
          ...new Array(schema.minItems - 1).fill(0.5),
          '1'
        ])
      }
      break
    case 'object':
      out.push('text', 5, null)
      break
  }
  return out
}

function unionValues(branches: JsonSchema[]): unknown[] {
  const out = branches.flatMap(invalidValues)
  const dimension = branches.find(b => b.type === 'array' && b.items?.type === 'number')?.minItems
  if (branches.some(b => b.type === 'string' && b.contentEncoding === 'base64')) {
    // base64 the pattern accepts but whose bytes are wrong: not whole float32, and, for a vector, wrong count, zeros, NaN
    out.push('AAAA')
    if (dimension !== undefined) {
      const floats = (values: number[]): string => Buffer.from(Float32Array.from(values).buffer).toString('base64')
      out.push(
        floats(new Array(dimension - 1).fill(0.5)),
        floats(new Array(dimension).fill(0)),
        floats([NaN, ...new Array(dimension - 1).fill(0.5)])
      )
    }
  }
  return out
}

/** Every invalid variant of `valid` that the schema forbids, one change at a time (recursing into objects and first array items). */
export function mutations(
  schema: JsonSchema,
  valid: Record<string, unknown>,
  path = ''
): Array<{ name: string; body: Record<string, unknown> }> {
  const results: Array<{ name: string; body: Record<string, unknown> }> = []
  for (const [key, propSchema] of Object.entries(schema.properties ?? {})) {
    const here = `${path}${key}`
    for (const value of invalidValues(propSchema)) {
      results.push({ name: `${here} = ${JSON.stringify(value)?.slice(0, 40)}`, body: { ...valid, [key]: value } })
    }
    if ((schema.required ?? []).includes(key)) {
      const { [key]: _dropped, ...rest } = valid
      results.push({ name: `${here} missing`, body: rest })
    }
    const current = valid[key]
    if (propSchema.type === 'object' && isRecord(current)) {
      for (const m of mutations(propSchema, current, `${here}.`))
        results.push({ name: m.name, body: { ...valid, [key]: m.body } })
    }
    if (
      propSchema.type === 'array' &&
      propSchema.items?.type === 'object' &&
      Array.isArray(current) &&
      isRecord(current[0])
    ) {
      for (const m of mutations(propSchema.items, current[0], `${here}[0].`))
        results.push({ name: m.name, body: { ...valid, [key]: [m.body, ...current.slice(1)] } })
    }
  }
  if (schema.additionalProperties === false)
    results.push({ name: `${path}unknown field`, body: { ...valid, surprise: 1 } })
  return results
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
