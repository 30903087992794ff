'use strict'
// bigint-safe JSON. The format is JSON plus BigInt literals (`-12n`), which plain JSON
// never contains, so plain JSON text means exactly what JSON.parse says and no user
// string can pass for a BigInt. V8's JSON does the bulk of both directions; the native
// scanner validates and locates BigInt literals when reading.

const { describe } = require('./errors')
// The addon is only needed to read BigInt literals; a worker that only writes never loads it.
let native
const scanner = () => (native ??= require('./native'))

// A BigInt literal needs a digit directly followed by `n`; text without one is plain JSON.
const MAYBE_BIGINT = /[0-9]n/

function isBigIntObject(v) {
  return (
    typeof v === 'object' && v !== null && Object.prototype.toString.call(v) === '[object BigInt]'
  )
}

// BigInts leave JSON.stringify as `"<open><digits><close>"` strings; one regex pass
// then turns them into `<digits>n` literals. The markers hold a random
// nonce per call, and the length check proves every replacement was one of ours (a user
// string containing a marker would change the length by a different amount), so a
// guessed nonce can make serialize() throw, never return wrong text. The nonce only has
// to be unlikely in data: one random prefix per thread plus a counter. Math.random, not
// node:crypto: loading node:crypto costs a worker ~1.1 ms, and a worker first serializes
// when its first profile stops, where that would add to the stop's latency.
const noncePrefix = () =>
  Math.floor(Math.random() * 2 ** 52).toString(36) +
  Math.floor(Math.random() * 2 ** 52).toString(36)
let prefix
let calls = 0

function stringifyMarked(value, withHook) {
  prefix ??= noncePrefix()
  const nonce = prefix + (calls++).toString(36)
  const open = `~pwbig${nonce}~`
  const close = `~${nonce}gibwp~`
  let count = 0
  const mark = (b) => {
    count++
    return open + b.toString() + close
  }
  let text
  if (withHook) {
    const saved = Object.getOwnPropertyDescriptor(BigInt.prototype, 'toJSON')
    Object.defineProperty(BigInt.prototype, 'toJSON', {
      configurable: true,
      writable: true,
      value: function toJSON() {
        return mark(this)
      },
    })
    try {
      text = JSON.stringify(value)
    } finally {
      if (saved) Object.defineProperty(BigInt.prototype, 'toJSON', saved)
      else delete (/** @type {any} */ (BigInt.prototype).toJSON)
    }
  } else {
    text = JSON.stringify(value, (_key, v) =>
      typeof v === 'bigint' || isBigIntObject(v) ? mark(v.valueOf()) : v,
    )
  }
  if (count === 0 || text === undefined) return text
  // One native pass with a replacement pattern (no callback into JS per match).
  const out = text.replace(new RegExp(`"${open}(-?[0-9]+)${close}"`, 'g'), '$1n')
  return out.length === text.length - count * (open.length + close.length + 1) ? out : null
}

/**
 * Like JSON.stringify(value), but BigInts anywhere are written as `123n` and come back
 * as BigInts from deserialize(). Cycles throw a TypeError, as with JSON.stringify.
 * `{ format: 'json' }` writes standard JSON for files instead (see toStandardJson).
 */
function serialize(value, options) {
  if (options?.format === 'json') return toStandardJson(value)
  // The fast path hooks BigInt.prototype.toJSON for the duration of one synchronous
  // JSON.stringify, so only BigInts pay anything. A user toJSON that itself returns a
  // BigInt, or stringifies BigInts internally, needs the (slower) replacer path.
  // With --frozen-intrinsics BigInt.prototype cannot take the hook.
  for (const withHook of Object.isExtensible(BigInt.prototype) ? [true, false] : [false]) {
    let text
    try {
      text = stringifyMarked(value, withHook)
    } catch (err) {
      if (withHook && err instanceof TypeError && /BigInt/i.test(err.message)) continue
      throw err
    }
    if (text !== null) return text
  }
  throw new Error('serialize: could not place every BigInt (a string collided with the marker)')
}

const BIGINTS_KEY = '$bigints'

// For files that jq, Python and JSON.parse must read: BigInts become decimal strings and the
// root object lists them as JSON Pointers under "$bigints", so deserialize() can tell them
// from strings that merely look numeric and restore them exactly.
function toStandardJson(value) {
  const root = deserialize(serialize(value))
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new TypeError(`serialize(value, { format: 'json' }): value must be an object`)
  }
  const pointers = []
  const walk = (holder, pointer) => {
    for (const key of Object.keys(holder)) {
      const v = holder[key]
      const at = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
      if (typeof v === 'bigint') {
        holder[key] = v.toString()
        pointers.push(at)
      } else if (v !== null && typeof v === 'object') walk(v, at)
    }
  }
  walk(root, '')
  return (
    JSON.stringify(pointers.length ? { ...root, [BIGINTS_KEY]: pointers } : root, null, 2) + '\n'
  )
}

// The inverse of toStandardJson on parsed text; anything that is not exactly its output
// (a "$bigints" that is not a list of pointers to decimal strings) is returned untouched.
function restoreStandardJson(root) {
  if (root === null || typeof root !== 'object' || Array.isArray(root)) return root
  const pointers = root[BIGINTS_KEY]
  if (!Array.isArray(pointers) || !Object.hasOwn(root, BIGINTS_KEY)) return root
  const places = []
  for (const p of pointers) {
    if (typeof p !== 'string' || !p.startsWith('/')) return root
    const keys = p
      .slice(1)
      .split('/')
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    let holder = root
    for (const k of keys.slice(0, -1)) {
      holder =
        holder !== null && typeof holder === 'object' && Object.hasOwn(holder, k)
          ? holder[k]
          : undefined
    }
    const last = keys[keys.length - 1]
    if (holder === null || typeof holder !== 'object' || !Object.hasOwn(holder, last)) return root
    if (typeof holder[last] !== 'string' || !/^-?[0-9]+$/.test(holder[last])) return root
    places.push([holder, last])
  }
  for (const [holder, key] of places) holder[key] = BigInt(holder[key])
  delete root[BIGINTS_KEY]
  return root
}

function syntaxError(e) {
  /** @type {SyntaxError & { position?: number, line?: number, column?: number }} */
  const err = new SyntaxError(
    `${e.message} in JSON at position ${e.position} (line ${e.line} column ${e.column})`,
  )
  err.position = e.position
  err.line = e.line
  err.column = e.column
  return err
}

/**
 * Parse text written by serialize() (or any plain JSON). Returns exactly what JSON.parse
 * returns for plain JSON, except that a root object's "$bigints" list (written by
 * serialize(value, { format: 'json' })) turns the strings it points at back into BigInts. Invalid text throws a SyntaxError with `position`, `line` and
 * `column` (UTF-16 offset; 1-based line and column).
 */
function deserialize(text) {
  if (typeof text !== 'string') {
    throw new TypeError(`deserialize(text): text must be a string, got ${describe(text)}`)
  }
  if (!MAYBE_BIGINT.test(text)) {
    try {
      return restoreStandardJson(JSON.parse(text))
    } catch (err) {
      const scan = scanner().scanBigintJson(text)
      throw scan.error ? syntaxError(scan.error) : err
    }
  }
  const scan = scanner().scanBigintJson(text)
  if (scan.error) throw syntaxError(scan.error)
  if (scan.count === 0) return JSON.parse(scan.json || text)
  return placeBigInts(JSON.parse(scan.json), JSON.parse(scan.ops))
}

// `ops` (see src/core/bigjson.rs): per BigInt `keep, count, seg.., digits`, its path given
// relative to the previous one. `holders[k]` is the container reached by the first k
// steps of the current path.
function placeBigInts(root, ops) {
  if (ops.length === 3 && ops[1] === 0) return BigInt(ops[2])
  const holders = [root]
  for (let i = 0; i < ops.length;) {
    const keep = ops[i]
    const count = ops[i + 1]
    i += 2
    holders.length = keep + 1
    let holder = holders[keep]
    for (const end = i + count - 1; i < end; i++) {
      holder = holder[ops[i]]
      holders.push(holder)
    }
    holder[ops[i]] = BigInt(ops[i + 1])
    i += 2
  }
  return root
}

module.exports = { serialize, deserialize }
