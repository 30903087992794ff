'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { serialize, deserialize } = require('..')
require('./helpers') // its no-unhandled-rejection hook

const roundTrip = (v) => deserialize(serialize(v))

test('BigInts round-trip exactly, anywhere in the value', () => {
  const cases = [
    0n,
    -1n,
    2n ** 64n,
    -(2n ** 200n) + 7n,
    [1n, [2n, [3n]], { a: -4n }],
    { a: { b: { c: 123456789012345678901234567890n } }, n: 1, s: 'x' },
    { big: 2n ** 63n - 1n, small: -(2n ** 63n), arr: [null, 0n, 'n', 1.5] },
  ]
  for (const v of cases) assert.deepEqual(roundTrip(v), v)
})

test('BigInt objects serialize as their value', () => {
  assert.equal(serialize(Object(5n)), '5n')
  assert.deepEqual(roundTrip({ x: Object(-5n) }), { x: -5n })
})

test('without BigInts, serialize is JSON.stringify', () => {
  const date = new Date(0)
  const values = [
    null,
    { a: undefined, b: () => 1, c: null, d: Symbol('s') },
    [undefined, () => 1, null, Symbol('s')],
    { toJSON: () => ({ replaced: true }) },
    { nested: { toJSON: (key) => `key was ${key}` } },
    date,
    [NaN, -0, Infinity],
    new Map([[1, 2]]),
    'plain',
    undefined,
  ]
  for (const v of values) assert.equal(serialize(v), JSON.stringify(v))
  assert.deepEqual(roundTrip({ keep: null, drop: undefined, arr: [undefined] }), {
    keep: null,
    arr: [null],
  })
})

test('toJSON that returns a BigInt is honoured', () => {
  assert.deepEqual(roundTrip({ a: { toJSON: () => 7n } }), { a: 7n })
  assert.deepEqual(roundTrip({ a: { toJSON: () => [1n, { b: 2n }] } }), { a: [1n, { b: 2n }] })
})

test('cycles throw a TypeError', () => {
  const a = { b: 1n }
  a.self = a
  assert.throws(() => serialize(a), TypeError)
})

test('strings and objects that look like tags round-trip unchanged', () => {
  const lookalikes = {
    s: '1n',
    t: '-123n',
    u: '"5n"',
    v: '__pw_bigint_0123456789abcdef_5',
    w: { $bigint: '12' },
    x: { __proto__: null, type: 'bigint', value: '1' },
    keyed: { '1n': 2n },
    placeholder: '__profiled_worker_bigint_0000000000000000__',
  }
  assert.deepEqual(roundTrip(lookalikes), { ...lookalikes, x: { type: 'bigint', value: '1' } })
})

test('the caller’s BigInt.prototype.toJSON is left as it was, even after a throw', () => {
  const mine = function () {
    return 'mine'
  }
  BigInt.prototype.toJSON = mine
  try {
    assert.equal(serialize({ a: 1n }), '{"a":1n}')
    assert.equal(BigInt.prototype.toJSON, mine)
    const cyclic = { b: 1n }
    cyclic.c = cyclic
    assert.throws(() => serialize(cyclic), TypeError)
    assert.equal(BigInt.prototype.toJSON, mine)
  } finally {
    delete BigInt.prototype.toJSON
  }
  serialize(1n)
  assert.equal(Object.hasOwn(BigInt.prototype, 'toJSON'), false)
})

test('deserialize of plain JSON equals JSON.parse (random documents)', () => {
  let seed = 42
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const strings = ['', 'a', '1n', '12n3', 'é', '\u2028', 'x"y\\z', '\n\t', '__proto__']
  const gen = (depth) => {
    const r = rnd()
    if (depth > 4 || r < 0.4) {
      const k = Math.floor(rnd() * 5)
      return [
        null,
        true,
        rnd() * 1e6 - 5e5,
        Math.floor(rnd() * 100),
        strings[Math.floor(rnd() * strings.length)],
      ][k]
    }
    if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 4) }, () => gen(depth + 1))
    const o = {}
    for (let i = 0; i < Math.floor(rnd() * 4); i++)
      o[strings[Math.floor(rnd() * strings.length)] + i] = gen(depth + 1)
    return o
  }
  for (let i = 0; i < 500; i++) {
    const text = JSON.stringify(gen(0), null, i % 2 ? 2 : undefined)
    assert.deepEqual(deserialize(text), JSON.parse(text), text)
  }
})

test('random values with BigInts round-trip', () => {
  let seed = 7
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const gen = (depth) => {
    const r = rnd()
    if (depth > 5 || r < 0.45) {
      const k = Math.floor(rnd() * 5)
      if (k === 0)
        return (
          BigInt(Math.floor(rnd() * 1e9)) ** BigInt(1 + Math.floor(rnd() * 4)) *
          (rnd() < 0.5 ? -1n : 1n)
        )
      return [null, 'str 1n', rnd(), false][k - 1]
    }
    if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 5) }, () => gen(depth + 1))
    const o = {}
    for (let i = 0; i < Math.floor(rnd() * 5); i++) o[`k${i}`] = gen(depth + 1)
    return o
  }
  for (let i = 0; i < 500; i++) {
    const v = gen(0)
    assert.deepEqual(roundTrip(v), v)
  }
})

test('duplicate keys keep the last value, as JSON.parse does', () => {
  assert.deepEqual(deserialize('{"a":1n,"a":2}'), { a: 2 })
  assert.deepEqual(deserialize('{"a":1,"a":2n}'), { a: 2n })
  assert.deepEqual(deserialize('{"a":{"b":1n},"a":{"c":3n}}'), { a: { c: 3n } })
})

test('a "__proto__" key stays an own property', () => {
  const v = deserialize('{"__proto__":{"x":1n},"y":2n}')
  assert.equal(Object.getPrototypeOf(v), Object.prototype)
  assert.deepEqual(Object.getOwnPropertyDescriptor(v, '__proto__').value, { x: 1n })
  assert.equal(v.y, 2n)
})

test('deep nesting works (serialize as deep as JSON.stringify; deserialize deeper)', () => {
  const depthOf = (v) => {
    let depth = 0
    while (Array.isArray(v)) {
      assert.equal(v.length, 1)
      v = v[0]
      depth++
    }
    return [depth, v]
  }
  let v = 1n
  for (let i = 0; i < 2000; i++) v = [v]
  assert.deepEqual(depthOf(roundTrip(v)), [2000, 1n])
  const deep = '['.repeat(100_000) + '-1n' + ']'.repeat(100_000)
  assert.deepEqual(depthOf(deserialize(deep)), [100_000, -1n])
})

test('invalid text throws a SyntaxError with a position', () => {
  const cases = [
    ['', 0],
    ['{"a": 1n,}', 9],
    ['[1.5n]', 4],
    ['[12n3]', 4],
    ['{"a"}', 4],
    ['[1,2', 4],
    ['{"x": 1}\n  oops', 11],
    ['nul', 0],
  ]
  for (const [text, position] of cases) {
    assert.throws(
      () => deserialize(text),
      (err) => {
        assert.ok(err instanceof SyntaxError, `${text}: ${err}`)
        assert.equal(err.position, position, `${text}: ${err.message}`)
        assert.match(err.message, /position \d+ \(line \d+ column \d+\)/)
        return true
      },
    )
  }
  const err = (() => {
    try {
      deserialize('{\n  "a": 1n\n  "b": 2\n}')
    } catch (e) {
      return e
    }
  })()
  assert.deepEqual([err.line, err.column], [3, 3])
})

test('non-string input to deserialize is a TypeError', () => {
  for (const bad of [undefined, null, 12, Buffer.from('1'), {}]) {
    assert.throws(() => deserialize(bad), { name: 'TypeError', message: /text must be a string/ })
  }
})

test('BigInt objects are written on the slow path too (a toJSON returning a BigInt)', () => {
  const v = { a: { toJSON: () => 7n }, b: Object(8n), c: [Object(-9n)] }
  assert.equal(serialize(v), '{"a":7n,"b":8n,"c":[-9n]}')
  assert.deepEqual(deserialize(serialize(v)), { a: 7n, b: 8n, c: [-9n] })
})

test('strings of digits next to BigInts stay strings', () => {
  assert.equal(serialize({ s: '123', t: '-4', b: 1n }), '{"s":"123","t":"-4","b":1n}')
  assert.equal(serialize(['5', 5n, '~', '~~']), '["5",5n,"~","~~"]')
})

test('a TypeError about BigInts thrown by the caller’s own toJSON is the caller’s', () => {
  const err = new TypeError('cannot handle this BigInt')
  const v = {
    toJSON() {
      throw err
    },
  }
  assert.throws(
    () => serialize(v),
    (e) => e === err,
  )
  assert.throws(
    () => serialize({ a: 1n, v }),
    (e) => e === err,
  )
})
