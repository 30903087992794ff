'use strict'
// bigint-safe JSON. The format is JSON plus BigInt literals (`-12n`), which plain JSON
// never contains, so plain JSON text means exactly what JSON.parse says and no user
// string can pass for a BigInt. V8's JSON does the bulk of both directions; the native
// scanner validates and locates BigInt literals when reading.

const { randomBytes } = require('node:crypto')
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

// Bigints leave JSON.stringify as `"<tag><digits>"` strings, then become literals. The tag
// is random per call, so a user string containing it would be a 2^-64 accident; the count
// check below catches even that.
function stringifyTagged(value, tag, withHook) {
  let count = 0
  const mark = (b) => {
    count++
    return tag + b.toString()
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
      else delete BigInt.prototype.toJSON
    }
  } else {
    text = JSON.stringify(value, (_key, v) =>
      typeof v === 'bigint' || isBigIntObject(v) ? mark(v.valueOf()) : v,
    )
  }
  if (count === 0 || text === undefined) return text
  let replaced = 0
  const out = text.replace(new RegExp(`"${tag}(-?[0-9]+)"`, 'g'), (_m, digits) => {
    replaced++
    return `${digits}n`
  })
  return replaced === count ? out : null
}

/**
 * Like JSON.stringify(value), but BigInts anywhere are written as `123n` and come back
 * as BigInts from deserialize(). Cycles throw a TypeError, as with JSON.stringify.
 */
function serialize(value) {
  // The fast path hooks BigInt.prototype.toJSON for the duration of one synchronous
  // JSON.stringify, so only BigInts pay anything. A user toJSON that itself returns a
  // BigInt, or stringifies BigInts internally, needs the (slower) replacer path.
  for (const withHook of [true, false]) {
    let text
    try {
      text = stringifyTagged(value, `__pw_bigint_${randomBytes(8).toString('hex')}_`, withHook)
    } catch (err) {
      if (withHook && err instanceof TypeError && /BigInt/i.test(err.message)) continue
      throw err
    }
    if (text !== null) return text
  }
  throw new Error('serialize: could not place every BigInt (a string collided with the tag)')
}

function syntaxError(e) {
  const err = new SyntaxError(
    `${e.message} in JSON at position ${e.position} (line ${e.line} column ${e.column})`,
  )
  err.position = e.position
  err.line = e.line
  err.column = e.column
  return err
}

function describe(v) {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`
}

/**
 * Parse text written by serialize() (or any plain JSON). Returns exactly what JSON.parse
 * returns for plain JSON. Invalid text throws a SyntaxError with `position`, `line` and
 * `column` (UTF-16 offset; 1-based line and column).
 */
function deserialize(text) {
  if (typeof text !== 'string') {
    throw new TypeError(`deserialize(text): text must be a string, got ${describe(text)}`)
  }
  if (!MAYBE_BIGINT.test(text)) {
    try {
      return JSON.parse(text)
    } catch (err) {
      const scan = scanner().scanBigintJson(text)
      throw scan.error ? syntaxError(scan.error) : err
    }
  }
  const scan = scanner().scanBigintJson(text)
  if (scan.error) throw syntaxError(scan.error)
  if (scan.count === 0) return JSON.parse(text)
  const found = JSON.parse(scan.bigints)
  if (found.length === 1 && found[0][0].length === 0) return BigInt(found[0][1])
  const root = JSON.parse(scan.json)
  for (const [path, digits] of found) {
    let holder = root
    for (let i = 0; i < path.length - 1 && typeof holder === 'object' && holder !== null; i++) {
      holder = holder[path[i]]
    }
    const key = path[path.length - 1]
    // With duplicate keys JSON.parse keeps the last value; only a slot that still holds
    // our placeholder came from a BigInt literal.
    if (typeof holder === 'object' && holder !== null && holder[key] === scan.placeholder) {
      holder[key] = BigInt(digits)
    }
  }
  return root
}

module.exports = { serialize, deserialize }
