'use strict'
// Chunk tiling (lib/thread/sampler/chunk.js) on hand-made profiles: no sampler, no worker.
const test = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const { fromObject, fromJson, keepAfter, TWO_32 } = require('../lib/thread/sampler/chunk')

const nodes = [{ id: 1, callFrame: { functionName: '(root)' }, hitCount: 0, children: [2] }]

// Samples 11, 12, 13, 14 at 105, 110, 120, 140 µs.
const profile = () => ({
  nodes,
  startTime: 100,
  endTime: 150,
  samples: [11, 12, 13, 14],
  timeDeltas: [5, 5, 10, 20],
})

test('keepAfter keeps every sample when none is at or before afterUs, and returns the last', () => {
  const p = profile()
  const { samples, timeDeltas } = p
  assert.equal(keepAfter(p, 104), 140)
  // Left as they are, not copied.
  assert.equal(p.samples, samples)
  assert.equal(p.timeDeltas, timeDeltas)
  assert.deepEqual(p.samples, [11, 12, 13, 14])
  assert.deepEqual(p.timeDeltas, [5, 5, 10, 20])
})

test('keepAfter drops the samples at or before afterUs and re-bases the first delta', () => {
  const p = profile()
  assert.equal(keepAfter(p, 110), 140)
  assert.deepEqual(p.samples, [13, 14])
  // The first kept sample is still at 120 µs: its delta is from startTime.
  assert.deepEqual(p.timeDeltas, [20, 20])
  assert.equal(p.startTime, 100)
})

test('keepAfter: a sample exactly at afterUs is dropped, one just after is kept', () => {
  const p = profile()
  keepAfter(p, 105)
  assert.deepEqual(p.samples, [12, 13, 14])
  assert.deepEqual(p.timeDeltas, [10, 10, 20])
  const q = profile()
  keepAfter(q, 104.5)
  assert.deepEqual(q.samples, [11, 12, 13, 14])
})

test('keepAfter with every sample at or before afterUs keeps none and returns afterUs', () => {
  const p = profile()
  assert.equal(keepAfter(p, 140), 140)
  assert.deepEqual(p.samples, [])
  assert.deepEqual(p.timeDeltas, [])
  const q = profile()
  assert.equal(keepAfter(q, 1000), 1000)
  assert.deepEqual(q.samples, [])
})

test('keepAfter returns the latest kept timestamp even when deltas go backwards', () => {
  // V8 can deliver a sample slightly out of order (a negative delta).
  const p = { startTime: 0, samples: [1, 2, 3], timeDeltas: [10, 30, -5] }
  assert.equal(keepAfter(p, 0), 40)
  assert.deepEqual(p.timeDeltas, [10, 30, -5])
  const q = { startTime: 0, samples: [1, 2, 3, 4], timeDeltas: [10, 30, -5, -20] }
  // Only the sample at 10 is at or before 12; 40, 35 and 15 are kept.
  assert.equal(keepAfter(q, 12), 40)
  assert.deepEqual(q.samples, [2, 3, 4])
  assert.deepEqual(q.timeDeltas, [40, -5, -20])
})

test('keepAfter of an empty profile returns afterUs', () => {
  const p = { startTime: 0, samples: [], timeDeltas: [] }
  assert.equal(keepAfter(p, 7), 7)
})

test('fromObject: JSON of the kept samples, the last timestamp and the count', () => {
  const p = profile()
  const out = fromObject(p, 110)
  assert.deepEqual(Object.keys(out), ['json', 'lastUs', 'samples'])
  assert.equal(out.lastUs, 140)
  assert.equal(out.samples, 2)
  assert.deepEqual(JSON.parse(out.json), { ...profile(), samples: [13, 14], timeDeltas: [20, 20] })
})

const v8Json = (p) =>
  `{"nodes":${JSON.stringify(p.nodes)},"startTime":${p.startTime},"endTime":${p.endTime},` +
  `"samples":${JSON.stringify(p.samples)},"timeDeltas":${JSON.stringify(p.timeDeltas)}}`

test('fromJson shifts the times by offsetUs and keeps the samples after afterUs', () => {
  const text = v8Json(profile())
  const out = fromJson(text, 1000, 1110)
  assert.equal(out.lastUs, 1140)
  assert.equal(out.samples, 2)
  const parsed = JSON.parse(out.json)
  assert.deepEqual(parsed, {
    nodes,
    startTime: 1100,
    endTime: 1150,
    samples: [13, 14],
    timeDeltas: [20, 20],
  })
  // The node table is copied as it stands, byte for byte.
  assert.ok(out.json.startsWith(`{"nodes":${JSON.stringify(nodes)},"startTime":1100,`))
})

test('fromJson with nothing dropped rewrites only the times', () => {
  const out = fromJson(v8Json(profile()), -50, 0)
  assert.equal(out.lastUs, 90)
  assert.equal(out.samples, 4)
  assert.equal(out.json, v8Json({ ...profile(), startTime: 50, endTime: 100 }))
})

test('fromJson rebuilds endTime from its 32-bit distance to startTime', () => {
  // The writer cut both to 32 bits: endTime wrapped around below startTime.
  const p = { ...profile(), startTime: TWO_32 - 10, endTime: 40 }
  const out = JSON.parse(fromJson(v8Json(p), 5, 0).json)
  assert.equal(out.startTime, TWO_32 - 5)
  assert.equal(out.endTime, TWO_32 - 5 + 50)
  // No wrap: the distance is kept as it is.
  const q = JSON.parse(fromJson(v8Json(profile()), 0, 0).json)
  assert.equal(q.endTime - q.startTime, 50)
  assert.equal(TWO_32, 4294967296)
})

test('fromJson parses any other layout whole, with the same result', () => {
  const p = profile()
  const { samples, timeDeltas } = p
  const layouts = [
    // Keys in another order.
    JSON.stringify({ startTime: 100, endTime: 150, nodes, samples, timeDeltas }),
    // Not starting with the node table.
    JSON.stringify({ x: 1, ...p }),
    // An extra key after the tail: the tail parses, with other keys.
    JSON.stringify({ ...p, extra: 1 }),
    // The last `,"startTime":` is in a nested object: the tail alone does not parse.
    JSON.stringify({ ...p, meta: { a: [1], startTime: 3 } }),
    // Indented.
    JSON.stringify(p, null, 2),
  ]
  for (const text of layouts) {
    const out = fromJson(text, 1000, 1110)
    assert.equal(out.lastUs, 1140, text)
    assert.equal(out.samples, 2, text)
    const parsed = JSON.parse(out.json)
    assert.equal(parsed.startTime, 1100, text)
    assert.equal(parsed.endTime, 1150, text)
    assert.deepEqual(parsed.samples, [13, 14], text)
    assert.deepEqual(parsed.timeDeltas, [20, 20], text)
    assert.deepEqual(parsed.nodes, nodes, text)
  }
})

test('fromJson throws on text that is not JSON', () => {
  assert.throws(() => fromJson('{"nodes":[],"startTime":', 0, 0), SyntaxError)
  assert.throws(() => fromJson('{"nodes":[1],"startTime":1,"endTime":}', 0, 0), SyntaxError)
})

test('fromJson copies the node table as it stands and rewrites only the tail', () => {
  // `1.0` and spaces survive only if the node table is not parsed and written again.
  const table = '{"nodes":[ {"id":1,"hitCount":1.0} ]'
  const text = `${table},"startTime":100,"endTime":150,"samples":[11,12,13,14],"timeDeltas":[5,5,10,20]}`
  assert.equal(
    fromJson(text, 1000, 1110).json,
    `${table},"startTime":1100,"endTime":1150,"samples":[13,14],"timeDeltas":[20,20]}`,
  )
})

test('fromJson writes any other layout anew, from the parsed whole', () => {
  const tail = '"startTime":100,"endTime":150,"samples":[11,12,13,14],"timeDeltas":[5,5,10,20]'
  const shifted = { startTime: 1100, endTime: 1150, samples: [13, 14], timeDeltas: [20, 20] }
  const cases = [
    // Not starting with the node table.
    [`{"x":1.0,"nodes":[],${tail}}`, { x: 1, nodes: [], ...shifted }],
    // Something other than the node table right before startTime.
    [`{"nodes":[],"x":1.0,${tail}}`, { nodes: [], x: 1, ...shifted }],
    // A key after the tail.
    [`{"nodes":[1.0],${tail},"x":1}`, { nodes: [1], ...shifted, x: 1 }],
    // The last startTime is nested: the tail alone does not parse.
    [
      `{"nodes":[1.0],${tail},"m":{"a":[1],"startTime":3}}`,
      { nodes: [1], ...shifted, m: { a: [1], startTime: 3 } },
    ],
  ]
  for (const [text, expected] of cases) {
    assert.equal(fromJson(text, 1000, 1110).json, JSON.stringify(expected), text)
  }
})
