'use strict'
// Property tests of bigint-safe JSON on random documents: serialize() against a writer
// built the obvious way, deserialize() against lossless-json (as the reference parser
// of the same text with the BigInts' `n` dropped), on both write paths (the native pass
// where the addon is loaded, the regex pass in a worker that never loads it).
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const LosslessJSON = require('lossless-json')
const { serialize, deserialize } = require('..')
const { generator, reference, EDGES } = require('./json-gen')
require('./helpers')

const ROUNDS = 400
const isBigInt = (v) => typeof v === 'bigint'
const digitsOnly = [{ test: isBigInt, stringify: (b) => b.toString() }]
const intsAsBigInt = (s) => (LosslessJSON.isInteger(s) ? BigInt(s) : parseFloat(s))
// Every safe-integer Number as a BigInt: how lossless-json sees the text without `n`s.
function widen(v) {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v)
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(widen)
  const o = {}
  for (const k of Object.keys(v)) {
    Object.defineProperty(o, k, {
      value: widen(v[k]),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return o
}

function checkRead(doc, text, label) {
  const back = deserialize(text)
  assert.deepStrictEqual(back, doc, `${label}: round trip`)
  const plain = LosslessJSON.stringify(doc, undefined, undefined, digitsOnly)
  assert.deepStrictEqual(
    widen(back),
    LosslessJSON.parse(plain, null, intsAsBigInt),
    `${label}: vs lossless-json`,
  )
}

test('random documents: serialize writes the reference text, deserialize reads it back', () => {
  for (const wide of [true, false]) {
    const next = generator(wide ? 17 : 18, { wide })
    for (let i = 0; i < ROUNDS; i++) {
      const doc = next()
      const label = `${wide ? 'utf16' : 'latin1'} #${i}`
      const text = serialize(doc)
      assert.equal(text, reference(doc), `${label}: serialize`)
      checkRead(doc, text, label)
      checkRead(doc, reference(doc, '  '), `${label} (indented)`)
    }
  }
})

test('the regex write path (no addon in the thread) writes the same text', async () => {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { serialize } = require(workerData.json)
    const { generator } = require(workerData.gen)
    const texts = []
    for (const wide of [true, false]) {
      const next = generator(wide ? 17 : 18, { wide })
      for (let i = 0; i < workerData.rounds; i++) texts.push(serialize(next()))
    }
    parentPort.postMessage({ texts, native: Object.keys(require.cache).some((f) => f.endsWith('native.js')) })`
  const w = new Worker(code, {
    eval: true,
    workerData: {
      json: path.join(__dirname, '..', 'lib', 'util', 'json.js'),
      gen: path.join(__dirname, 'json-gen.js'),
      rounds: ROUNDS,
    },
  })
  const { texts, native } = await new Promise((resolve, reject) => {
    w.once('message', resolve)
    w.once('error', reject)
  })
  await w.terminate()
  assert.equal(native, false, 'the worker must not have loaded the addon')
  const expected = []
  for (const wide of [true, false]) {
    const next = generator(wide ? 17 : 18, { wide })
    for (let i = 0; i < ROUNDS; i++) expected.push(reference(next()))
  }
  assert.deepStrictEqual(texts, expected)
})

test('BigInts at the edges of 2^53 and 2^64 come back exact, as root and in containers', () => {
  for (const b of EDGES) {
    for (const doc of [b, [b], { v: b }, { __proto__: null, x: [{ y: b }] }]) {
      const text = serialize(doc)
      assert.equal(text, reference(doc))
      const back = deserialize(text)
      assert.equal(typeof (back?.x?.[0]?.y ?? back?.v ?? back?.[0] ?? back), 'bigint')
      assert.deepStrictEqual(
        JSON.stringify(back, (_k, v) => (isBigInt(v) ? `${v}` : v)),
        JSON.stringify(doc, (_k, v) => (isBigInt(v) ? `${v}` : v)),
      )
    }
  }
})

test('an own __proto__ key holding a BigInt stays an own property', () => {
  const back = deserialize('{"__proto__":{"__proto__":7n},"a":[{"__proto__":-9007199254740993n}]}')
  assert.equal(Object.getPrototypeOf(back), Object.prototype)
  assert.ok(Object.hasOwn(back, '__proto__'))
  assert.equal(back.__proto__.__proto__, 7n)
  assert.equal(Object.getOwnPropertyDescriptor(back.a[0], '__proto__').value, -9007199254740993n)
})

test('duplicate keys keep the last value, also spelled with escapes', () => {
  const cases = [
    ['{"a":1n,"a":2}', { a: 2 }],
    ['{"a":1,"\\u0061":2n}', { a: 2n }],
    ['{"é":1n,"\\u00e9":{"b":2n}}', { é: { b: 2n } }],
    ['{"€":{"x":1n},"\\u20ac":3n,"z":[4n]}', { '€': 3n, z: [4n] }],
  ]
  for (const [text, expected] of cases) assert.deepStrictEqual(deserialize(text), expected, text)
})

test('a standard-JSON file whose strings hold a digit and an n is still restored', () => {
  const doc = { label: 'v1n', id: 2n ** 64n }
  assert.deepStrictEqual(deserialize(serialize(doc, { format: 'json' })), doc)
})

test('texts beyond Latin-1 report syntax errors at UTF-16 positions', () => {
  for (const [text, position] of [
    ['["😀", 1n, x]', 11],
    ['{"€":1n,}', 8],
    ['["é", 1n, x]', 10],
  ]) {
    assert.throws(
      () => deserialize(text),
      (e) => e instanceof SyntaxError && e.position === position,
      text,
    )
  }
})
