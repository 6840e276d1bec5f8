/**
 * JSON in and out, with u64 support.
 *
 * Point ids are unsigned 64-bit integers; JSON.parse would silently round any integer above
 * 2^53-1. When a body contains an integer literal long enough to be unsafe, it is parsed by a
 * small parser that yields BigInt for unsafe integers. Output turns BigInt back into bare JSON
 * integers.
 */
import { jsonSyntaxError } from './errors.ts'

/** A number token starting with 16+ digits (a possibly unsafe integer); false positives only cost speed. */
const MAYBE_UNSAFE_INT = /[:[,]\s*-?\d{16}/

export function parseJson(raw: string): unknown {
  try {
    if (MAYBE_UNSAFE_INT.test(raw)) return new BigIntJsonParser(raw).parseDocument()
    return JSON.parse(raw)
  } catch (err) {
    throw jsonSyntaxError(raw, err)
  }
}

const BIG_MARK = '\u0000bigint:'
const BIG_RE = /"\\u0000bigint:(\d+)"/g

export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch (err) {
    if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err
    const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? BIG_MARK + v.toString() : v))
    return text.replace(BIG_RE, '$1')
  }
}

class BigIntJsonParser {
  private pos = 0
  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    this.ws()
    const value = this.value()
    this.ws()
    if (this.pos !== this.text.length) this.fail()
    return value
  }

  private fail(): never {
    throw new SyntaxError(`Unexpected token in JSON at position ${this.pos}`)
  }

  private ws(): void {
    const t = this.text
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++
      else break
    }
  }

  private value(): unknown {
    const c = this.text[this.pos]
    switch (c) {
      case '{':
        return this.object()
      case '[':
        return this.array()
      case '"':
        return this.string()
      case 't':
        return this.literal('true', true)
      case 'f':
        return this.literal('false', false)
      case 'n':
        return this.literal('null', null)
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number()
        return this.fail()
    }
  }

  private literal<T>(word: string, value: T): T {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length
      return value
    }
    return this.fail()
  }

  private number(): number | bigint {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400))
    if (!m) return this.fail()
    this.pos += m[0].length
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0])
      if (!Number.isSafeInteger(n)) return BigInt(m[0])
      return n
    }
    return Number(m[0])
  }

  private string(): string {
    const t = this.text
    const start = this.pos
    this.pos++
    while (this.pos < t.length) {
      const c = t[this.pos]
      if (c === '\\') this.pos += 2
      else if (c === '"') {
        this.pos++
        return JSON.parse(t.slice(start, this.pos)) as string
      } else this.pos++
    }
    return this.fail()
  }

  private array(): unknown[] {
    this.pos++
    const out: unknown[] = []
    this.ws()
    if (this.text[this.pos] === ']') {
      this.pos++
      return out
    }
    for (;;) {
      this.ws()
      out.push(this.value())
      this.ws()
      const c = this.text[this.pos++]
      if (c === ']') return out
      if (c !== ',') {
        this.pos--
        return this.fail()
      }
    }
  }

  private object(): Record<string, unknown> {
    this.pos++
    const out: Record<string, unknown> = {}
    this.ws()
    if (this.text[this.pos] === '}') {
      this.pos++
      return out
    }
    for (;;) {
      this.ws()
      if (this.text[this.pos] !== '"') return this.fail()
      const key = this.string()
      this.ws()
      if (this.text[this.pos++] !== ':') {
        this.pos--
        return this.fail()
      }
      this.ws()
      const value = this.value()
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
      this.ws()
      const c = this.text[this.pos++]
      if (c === '}') return out
      if (c !== ',') {
        this.pos--
        return this.fail()
      }
    }
  }
}

/** Deep copy of JSON data (payloads), keeping BigInt values. */
export function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(v => cloneJson(v)) as unknown as T
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = cloneJson(v)
  return out as T
}
