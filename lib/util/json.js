'use strict'
// bigint-safe JSON. The format is JSON plus BigInt literals (`-12n`), which plain JSON
// never contains, so plain JSON text means exactly what JSON.parse says and no user
// string can pass for a BigInt. V8's JSON does the bulk of both directions; the native
// scanner validates and locates BigInt literals when reading.

const errors = require('./errors')
const path = require('node:path')

// The addon is only needed to read BigInt literals; writing uses it when this thread has
// it loaded anyway (loading it costs a worker milliseconds, at the stop of its first
// profile, where serialize() first runs).
let native
const NATIVE_PATH = path.join(__dirname, 'native.js')
const scanner = () => (native ??= require('./native'))
const loadedNative = () => (native ??= require.cache[NATIVE_PATH]?.exports)

// A BigInt literal needs a digit directly followed by `n`; text without one is plain JSON.
const MAYBE_BIGINT = /[0-9]n/
// Text crosses N-API as its own code units: Latin-1 bytes when every character fits
// (V8 answers this without a scan for a one-byte string), else UTF-16.
// eslint-disable-next-line no-control-regex -- the range starts at U+0000 on purpose
const WIDE = /[^\x00-\xff]/
const isOneByte = (text) => !WIDE.test(text)

function isBigIntObject(v) {
  return (
    typeof v === 'object' && v !== null && Object.prototype.toString.call(v) === '[object BigInt]'
  )
}

// BigInts leave JSON.stringify as `"<open><digits>"` strings, and one pass (native, or a
// regex replace) turns them into `<digits>n` literals. `open` holds a random nonce per
// thread, which never appears in the output, and the count check proves every replacement
// was one of ours (a user string holding a marker adds a replacement), so a collision
// makes serialize() retry with a new nonce, never return wrong text. Math.random, not
// node:crypto: loading node:crypto is a noticeable part of a worker's start, and a worker
// first serializes when its first profile stops, where that would add to the stop's latency.
let open
let marker // matches one marker string, capturing its digits
const newNonce = () => {
  open = `~${Math.floor(Math.random() * 2 ** 52).toString(36)}~`
  marker = new RegExp(`"${open}(-?[0-9]+)"`, 'g')
}
const NATIVE_BELOW = 1 << 20 // characters
const MARKER_SPACING = 128 // characters per marker, at most, for the native pass to pay
let count = 0
const hook = {
  configurable: true,
  writable: true,
  value: function toJSON() {
    count++
    return open + this.toString()
  },
}

function stringifyMarked(value, withHook) {
  if (open === undefined) newNonce()
  count = 0
  let text
  if (withHook) {
    const saved = Object.getOwnPropertyDescriptor(BigInt.prototype, 'toJSON')
    Object.defineProperty(BigInt.prototype, 'toJSON', hook)
    try {
      text = JSON.stringify(value)
    } finally {
      if (saved) Object.defineProperty(BigInt.prototype, 'toJSON', saved)
      else delete (/** @type {any} */ (BigInt.prototype).toJSON)
    }
  } else {
    text = JSON.stringify(value, (_key, v) =>
      typeof v === 'bigint' || isBigIntObject(v) ? hook.value.call(v.valueOf()) : v,
    )
  }
  if (count === 0 || text === undefined) return text
  // The native pass copies the text in and its result out; V8's regex only scans, which
  // wins on a long text with few markers.
  const lib = loadedNative()
  if (lib && (text.length < NATIVE_BELOW || count * MARKER_SPACING > text.length)) {
    return lib.unmarkBigintJson(text, isOneByte(text), open, count)
  }
  // Each replacement shortens the text by the marker and two quotes, less the `n`.
  const out = text.replace(marker, '$1n')
  return out.length === text.length - count * (open.length + 1) ? out : null
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
    newNonce()
  }
  throw errors.bigIntCollision()
}

const BIGINTS_KEY = '$bigints'

// For files that jq, Python and JSON.parse must read: BigInts become decimal strings and the
// root object lists them as JSON Pointers under "$bigints", so deserialize() can tell them
// from strings that merely look numeric and restore them exactly.
function toStandardJson(value) {
  const root = deserialize(serialize(value))
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw errors.notJsonObject("serialize(value, { format: 'json' })")
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

/**
 * Parse text written by serialize() (or any plain JSON). Returns exactly what JSON.parse
 * returns for plain JSON, except that a root object's "$bigints" list (written by
 * serialize(value, { format: 'json' })) turns the strings it points at back into BigInts. Invalid text throws a SyntaxError with `position`, `line` and
 * `column` (UTF-16 offset; 1-based line and column).
 */
function deserialize(text) {
  if (typeof text !== 'string') {
    throw errors.mustBe('deserialize(text): text', 'a string', text)
  }
  if (!MAYBE_BIGINT.test(text)) {
    try {
      return restoreStandardJson(JSON.parse(text))
    } catch (err) {
      const scan = scanner().scanBigintJson(text, isOneByte(text))
      throw scan.error ? errors.jsonSyntax(scan.error) : err
    }
  }
  const scan = scanner().scanBigintJson(text, isOneByte(text))
  if (scan.error) throw errors.jsonSyntax(scan.error)
  // No literal at all: plain JSON after all (a digit and an `n` met inside a string).
  if (scan.json === undefined) return restoreStandardJson(JSON.parse(text))
  const root = JSON.parse(scan.json)
  return scan.count === 0 ? root : placeBigInts(root, scan.ops, JSON.parse(scan.keys), text)
}

// `ops` (see src/core/bigjson.rs): per BigInt `keep, count, seg.., value..`, its path
// given relative to the previous one; a segment is `index << 1` or `key << 1 | 1`.
// `holders[k]` is the container reached by the first k steps of the current path. The
// number JSON.parse left in a slot is exact for a safe integer (`value` 0); others are
// read from their digits in the text.
function placeBigInts(root, ops, keys, text) {
  if (ops[1] === 0) return ops[2] === 0 ? BigInt(root) : BigInt(text.slice(ops[2] - 1, ops[3]))
  const holders = [root]
  for (let i = 0; i < ops.length;) {
    let top = ops[i]
    const end = i + 2 + ops[i + 1] - 1
    let holder = holders[top]
    for (i += 2; i < end; i++) {
      const seg = ops[i]
      holder = holder[seg & 1 ? keys[seg >>> 1] : seg >>> 1]
      holders[++top] = holder
    }
    const seg = ops[i]
    const slot = seg & 1 ? keys[seg >>> 1] : seg >>> 1
    const at = ops[i + 1]
    if (at === 0) {
      holder[slot] = BigInt(holder[slot])
      i += 2
    } else {
      holder[slot] = BigInt(text.slice(at - 1, ops[i + 2]))
      i += 3
    }
  }
  return root
}

module.exports = { serialize, deserialize }
