'use strict'
// bigint-safe JSON of a "profile-with-effects" document, serialize and deserialize each on
// its own, ours against the two bigint JSON libraries people reach for, and against plain
// JSON on the same document without BigInts: the floor any JSON-text format can hope for.
//
//   node bench/scenarios/export-json.js

const assert = require('node:assert/strict')
const JSONbig = require('json-bigint')({ useNativeBigInt: true })
const LosslessJSON = require('lossless-json')
const { serialize, deserialize } = require('../..')
const { makeProfileWithEffects, withoutBigInts, countBigInts } = require('../synth')
const { performance } = require('node:perf_hooks')
const { full, collect, median, stats, times, fmtBytes, main } = require('../harness')

// Sizes picked so the serialized text lands near 10 MB and 10 KB. The "dense" cases carry
// thousands of effect records full of BigInt clocks and ids (one BigInt per ~90 bytes: a
// stress test for the BigInt path); the "report" case is shaped like a ProfileReport of
// this package, where BigInts are a few per thread and per recorded effect.
const CASES = [
  {
    scenario: '5 export: json 10 MB report',
    doc: { nodes: 20000, samples: 400_000, effects: 40 },
    run: { rounds: full(7, 2), warmup: 1, minSampleMs: 20 },
  },
  {
    scenario: '5 export: json 10 MB dense',
    doc: { nodes: 9000, samples: 230_000, effects: 4200 },
    run: { rounds: full(7, 2), warmup: 1, minSampleMs: 20 },
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

// Each direction on its own, against the same direction of the peers and of plain JSON
// on the document without BigInts (every BigInt a Number). Parsers read their own
// library's text.
function groups(doc, plainDoc) {
  const text = serialize(doc)
  const jbText = JSONbig.stringify(doc)
  const llText = LosslessJSON.stringify(doc)
  const plainText = JSON.stringify(plainDoc)
  return {
    serialize: [
      { name: 'serialize: ours', fn: () => serialize(doc) },
      { name: 'serialize: json-bigint', fn: () => JSONbig.stringify(doc) },
      { name: 'serialize: lossless-json', fn: () => LosslessJSON.stringify(doc) },
      { name: 'serialize: plain JSON.stringify', fn: () => JSON.stringify(plainDoc) },
    ],
    deserialize: [
      { name: 'deserialize: ours', fn: () => deserialize(text) },
      { name: 'deserialize: json-bigint', fn: () => JSONbig.parse(jbText) },
      {
        name: 'deserialize: lossless-json',
        fn: () => LosslessJSON.parse(llText, null, bigIntIfUnsafe),
      },
      { name: 'deserialize: plain JSON.parse', fn: () => JSON.parse(plainText) },
    ],
  }
}

// The harness times wall clock; on a shared machine the process's CPU time per call is
// steadier, so each sample records both and the rows show both ratios.
function cpuInterleaved(arms, { rounds, warmup, minSampleMs }) {
  const iterations = arms.map((arm) => {
    let once = Infinity
    for (let i = 0; i < warmup; i++) {
      const t0 = performance.now()
      arm.fn()
      once = Math.min(once, performance.now() - t0)
    }
    return Math.max(1, Math.ceil(minSampleMs / Math.max(once, 1e-3)))
  })
  const wall = arms.map(() => [])
  const cpu = arms.map(() => [])
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < arms.length; k++) {
      const a = (r + k) % arms.length
      collect()
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      for (let i = 0; i < iterations[a]; i++) arms[a].fn()
      const w = performance.now() - t0
      const c = process.cpuUsage(c0)
      wall[a].push(w / iterations[a])
      cpu[a].push((c.user + c.system) / 1000 / iterations[a])
    }
  }
  return Object.fromEntries(
    arms.map((arm, a) => [arm.name, { ...stats(wall[a]), cpu: median(cpu[a]) }]),
  )
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
    for (const [dir, arms] of Object.entries(groups(doc, plainDoc))) {
      const r = cpuInterleaved(arms, c.run)
      const ours = r[`${dir}: ours`]
      const plain = Object.entries(r).find(([k]) => k.includes('plain'))[1]
      const jb = r[`${dir}: json-bigint`]
      for (const [arm, s] of Object.entries(r)) {
        const row = { scenario: c.scenario, arm, median: s.median, min: s.min, max: s.max, n: s.n }
        const cpu = (a, b) => `CPU ${times(a.cpu, b.cpu)}`
        if (s === ours) {
          row.ratio = `${times(ours.median, plain.median)} plain JSON (${cpu(ours, plain)})`
          row.target = '≤ 2× plain JSON'
          row.met = ours.median / plain.median <= 2
        } else if (s === plain) {
          row.ratio = 'baseline'
        } else {
          const faster = s.median >= ours.median
          row.ratio = `ours ${times(faster ? s.median : ours.median, faster ? ours.median : s.median)} ${faster ? 'faster' : 'slower'} (${cpu(s, ours)})`
          if (s === jb) {
            row.target = 'ours ≥ 3× faster'
            row.met = jb.median / ours.median >= 3
          }
        }
        rows.push(row)
      }
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
