'use strict'
// bigint-safe JSON round trip (stringify, then parse) of a "profile-with-effects" document,
// ours against the two bigint JSON libraries people reach for, and against plain JSON on
// the same document without BigInts: the floor any JSON-text format can hope for.
//
//   node bench/scenarios/export-json.js

const assert = require('node:assert/strict')
const JSONbig = require('json-bigint')({ useNativeBigInt: true })
const LosslessJSON = require('lossless-json')
const { serialize, deserialize } = require('../..')
const { makeProfileWithEffects, withoutBigInts, countBigInts } = require('../synth')
const { full, interleaved, times, fmtBytes, main } = require('../harness')

// Sizes picked so the serialized text lands near 10 MB and 10 KB. The "dense" cases carry
// thousands of effect records full of BigInt clocks and ids (one BigInt per ~90 bytes: a
// stress test for the BigInt path); the "report" case is shaped like a ProfileReport of
// this package, where BigInts are a few per thread and per recorded effect.
const CASES = [
  {
    scenario: '5 export: json 10 MB report',
    doc: { nodes: 20000, samples: 400_000, effects: 40 },
    run: { rounds: full(5, 2), warmup: 1, minSampleMs: 20 },
  },
  {
    scenario: '5 export: json 10 MB dense',
    doc: { nodes: 9000, samples: 230_000, effects: 4200 },
    run: { rounds: full(5, 2), warmup: 1, minSampleMs: 20 },
  },
  {
    scenario: '5 export: json 10 KB dense',
    doc: { nodes: 14, samples: 80, effects: 4 },
    run: { rounds: full(9, 3), warmup: 300, minSampleMs: 25 },
  },
]

// lossless-json hands every number over as text; integers beyond 2^53 become BigInt and
// everything else a Number. It cannot know that a small integer was a BigInt: the text
// `5` is the same either way. That is exactly what the `5n` literal of ours is for.
const { isInteger, isSafeNumber } = LosslessJSON
const bigIntIfUnsafe = (s) => (isInteger(s) && !isSafeNumber(s) ? BigInt(s) : parseFloat(s))

function arms(doc, plainDoc) {
  const text = serialize(doc)
  return [
    { name: 'ours serialize+deserialize', fn: () => deserialize(serialize(doc)) },
    { name: 'json-bigint', fn: () => JSONbig.parse(JSONbig.stringify(doc)) },
    {
      name: 'lossless-json',
      fn: () => LosslessJSON.parse(LosslessJSON.stringify(doc), null, bigIntIfUnsafe),
    },
    { name: 'plain JSON (no BigInts)', fn: () => JSON.parse(JSON.stringify(plainDoc)) },
    // The two halves of ours, in the same rounds, to show which side the time is on.
    { name: '  ours part: serialize', fn: () => serialize(doc) },
    { name: '  ours part: deserialize', fn: () => deserialize(text) },
  ]
}

function ratioText(arm, s, ours, plain) {
  if (arm.startsWith('ours')) return `${times(ours, plain)} plain JSON`
  if (arm.startsWith('plain')) return 'baseline'
  if (arm.includes('ours part')) return `${((100 * s.median) / ours).toFixed(0)}% of ours`
  return s.median >= ours
    ? `ours ${times(s.median, ours)} faster`
    : `ours ${times(ours, s.median)} slower`
}

/**
 * Outside timing: ours must give back exactly the input; the peers must give back the same
 * values (their BigInts may come back as Numbers, which we count instead of failing on).
 */
function verify(doc, plainDoc) {
  const text = serialize(doc)
  assert.deepStrictEqual(deserialize(text), doc, 'ours: round trip is not deepStrictEqual')
  const bigints = countBigInts(doc)
  const fidelity = {}
  const peers = {
    'json-bigint': JSONbig.parse(JSONbig.stringify(doc)),
    'lossless-json': LosslessJSON.parse(LosslessJSON.stringify(doc), null, bigIntIfUnsafe),
  }
  for (const [name, back] of Object.entries(peers)) {
    assert.deepStrictEqual(withoutBigInts(back), plainDoc, `${name}: values changed`)
    fidelity[name] = countBigInts(back)
  }
  assert.deepStrictEqual(JSON.parse(JSON.stringify(plainDoc)), plainDoc)
  return { textBytes: Buffer.byteLength(text), bigints, fidelity }
}

async function run(log) {
  const rows = []
  const notes = []
  for (const c of CASES) {
    const doc = makeProfileWithEffects(c.doc)
    const plainDoc = withoutBigInts(doc)
    const v = verify(doc, plainDoc)
    log(`${c.scenario}: ${fmtBytes(v.textBytes)} of text, ${v.bigints} BigInts; measuring`)
    const r = interleaved(arms(doc, plainDoc), { ...c.run, log })
    const ours = r['ours serialize+deserialize'].median
    const plain = r['plain JSON (no BigInts)'].median
    const jb = r['json-bigint'].median
    for (const [arm, s] of Object.entries(r)) {
      const row = { scenario: c.scenario, arm, ...s, ratio: ratioText(arm, s, ours, plain) }
      if (arm.startsWith('ours')) {
        row.target = '≤ 2× plain JSON'
        row.met = ours / plain <= 2
      } else if (arm === 'json-bigint') {
        row.target = 'ours ≥ 3× faster'
        row.met = jb / ours >= 3
      }
      rows.push(row)
    }
    notes.push(
      `${c.scenario}: ${fmtBytes(v.textBytes)} of text, ${v.bigints} BigInts; verified ours ` +
        `round-trips deepStrictEqual. BigInts that came back as BigInt: ours ${v.bigints}, ` +
        Object.entries(v.fidelity)
          .map(([n, k]) => `${n} ${k}`)
          .join(', ') +
        ' (the rest came back as Numbers).',
    )
  }
  return { rows, notes }
}

if (require.main === module) main(run)

module.exports = { run }
