'use strict'
// Random documents for the bigint JSON property tests: seeded, so a failure names its case.

const TWO53 = 2n ** 53n
const TWO64 = 2n ** 64n
const EDGES = [
  0n,
  1n,
  -1n,
  TWO53 - 1n,
  TWO53,
  TWO53 + 1n,
  -(TWO53 - 1n),
  -TWO53,
  -(TWO53 + 1n),
  2n ** 63n - 1n,
  -(2n ** 63n),
  TWO64 - 1n,
  TWO64,
  TWO64 + 1n,
  -TWO64,
  10n ** 15n,
  9_999_999_999_999_999n,
  2_345_678_901_234_567n,
]
// Characters that stress the scanner and the markers: quotes, escapes, control
// characters, Latin-1, outside Latin-1 (the UTF-16 path), surrogate pairs, a lone surrogate.
const CHARS = [
  'a',
  'z',
  '0',
  '9',
  'n',
  '-',
  '~',
  '"',
  '\\',
  '/',
  '\u0000',
  '\u001f',
  '\n',
  'é',
  'ÿ',
  '€',
  '😀',
  '\ud800',
  ' ',
  ':',
  ',',
  '[',
  '{',
]
const KEYS = ['__proto__', 'constructor', 'toString', '0', '10', 'a', 'n', '', 'é', '€']
const STRINGS = ['12n', '-3n', '1n2', '"1n"', '~x~12', '9007199254740993', 'null']

function rng(seed) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

function generator(seed, { wide = true } = {}) {
  const r = rng(seed)
  const pick = (xs) => xs[Math.floor(r() * xs.length)]
  const chars = wide ? CHARS : CHARS.filter((c) => c.charCodeAt(0) < 0x100)
  const str = () => {
    if (r() < 0.15) return pick(STRINGS)
    let s = ''
    for (let n = Math.floor(r() * 8); n > 0; n--) s += pick(chars)
    return s
  }
  const bigint = () => {
    if (r() < 0.6) return pick(EDGES)
    let b = 0n
    for (let n = 1 + Math.floor(r() * 6); n > 0; n--) b = (b << 32n) | BigInt((r() * 2 ** 32) >>> 0)
    return r() < 0.5 ? -b : b
  }
  const number = () =>
    pick([0, 1, -7, 42, 2 ** 31, 2 ** 53 - 1, 1.5, -0.25, 1e21, 1e-7, Math.floor(r() * 1e6)])
  const value = (depth) => {
    const k = r()
    if (depth <= 0 || k < 0.45) {
      const p = r()
      if (p < 0.35) return bigint()
      if (p < 0.6) return number()
      if (p < 0.85) return str()
      return pick([true, false, null])
    }
    if (k < 0.7) {
      const a = []
      for (let n = Math.floor(r() * 6); n > 0; n--) a.push(value(depth - 1))
      return a
    }
    const o = {}
    for (let n = Math.floor(r() * 6); n > 0; n--) {
      const key = r() < 0.4 ? pick(KEYS) : str()
      // An own `__proto__`, as JSON.parse makes it.
      Object.defineProperty(o, key, {
        value: value(depth - 1),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return o
  }
  return () => value(1 + Math.floor(r() * 5))
}

/** The format written the obvious way, independent of serialize()'s markers. */
function reference(v, space = '') {
  const nl = space ? '\n' : ''
  const walk = (x, indent) => {
    if (typeof x === 'bigint') return `${x}n`
    if (x === null || typeof x !== 'object') return JSON.stringify(x)
    const inner = indent + space
    const parts = Array.isArray(x)
      ? x.map((e) => inner + walk(e, inner))
      : Object.keys(x).map(
          (k) => `${inner}${JSON.stringify(k)}:${space ? ' ' : ''}${walk(x[k], inner)}`,
        )
    const [a, b] = Array.isArray(x) ? ['[', ']'] : ['{', '}']
    return parts.length ? `${a}${nl}${parts.join(`,${nl}`)}${nl}${indent}${b}` : a + b
  }
  return walk(v, '')
}

module.exports = { generator, reference, EDGES }
