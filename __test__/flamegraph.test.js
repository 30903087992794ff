'use strict'
// Flame graph SVG: frame names, widths proportional to samples, one tower per thread,
// options, and a real profiled worker.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')

const pw = require('..')
const { Worker } = require('node:worker_threads') // after the patch: the ProfiledWorker
const { CpuProfile, mergeProfiles, runProfile } = pw
const { ask, within } = require('./helpers')

const WORK = path.join(__dirname, 'fixtures', 'work.js')

const frame = (id, name, url, line, children) => ({
  id,
  callFrame: {
    functionName: name,
    scriptId: url ? '1' : '0',
    url,
    lineNumber: line,
    columnNumber: 0,
  },
  ...(children ? { children } : {}),
})

/** A profile whose samples are `counts`: { nodeId: how many samples }. */
function profile(nodes, counts) {
  const samples = Object.entries(counts).flatMap(([id, n]) => Array(n).fill(Number(id)))
  return CpuProfile.parse(
    JSON.stringify({
      nodes,
      startTime: 0,
      endTime: samples.length * 100,
      samples,
      timeDeltas: samples.map(() => 100),
    }),
  )
}

// main: handle → parse ×3, handle ×1, (idle) ×4; worker 7: render → fib ×10, render ×2.
function knownReport() {
  const main = profile(
    [
      frame(1, '(root)', '', -1, [2, 4]),
      frame(2, 'handle', '/app/server.js', 9, [3]),
      frame(3, 'parse', '/app/server.js', 19),
      frame(4, '(idle)', '', -1),
    ],
    { 3: 3, 2: 1, 4: 4 },
  )
  const worker = profile(
    [
      frame(1, '(root)', '', -1, [2]),
      frame(2, 'render', '/app/worker.js', 0, [3]),
      frame(3, 'fib', '/app/worker.js', 4),
    ],
    { 3: 10, 2: 2 },
  )
  return mergeProfiles([
    { profile: main, threadId: 0, name: 'main' },
    { profile: worker, threadId: 7, name: 'render' },
  ])
}

/** Every drawn frame: { title, samples, widthPct } from its <title> and <rect width>. */
function frames(svg) {
  const out = []
  for (const g of svg.split('<g>').slice(1)) {
    const title = /<title>([^<]*)<\/title>/.exec(g)
    const width = /<rect [^>]*width="([\d.]+)%"/.exec(g)
    if (!title || !width) continue
    const text = title[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>')
    const samples = /\((\d[\d,]*) samples?, [\d.]+%\)$/.exec(text)
    out.push({
      title: text,
      name: text.slice(0, samples.index).trim(),
      samples: Number(samples[1].replace(/,/g, '')),
      widthPct: Number(width[1]),
    })
  }
  return out
}

function only(all, name) {
  const hits = all.filter((f) => f.name === name)
  assert.equal(hits.length, 1, `one frame named ${name} in ${all.map((f) => f.name)}`)
  return hits[0]
}

test('toFlamegraph: frames are `function (file:line)`, one tower per thread, widths ∝ samples', () => {
  const svg = knownReport().toFlamegraph({ title: 'GET /x <&>' })
  assert.match(svg, /^<\?xml/)
  assert.match(svg, /<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  assert.ok(svg.includes('GET /x &lt;&amp;&gt;'), 'the title, escaped')
  assert.ok(svg.includes('function search('), 'inferno’s search is embedded')
  const all = frames(svg)
  const total = only(all, 'all').samples
  assert.equal(total, 20)
  const expected = {
    'main (thread 0)': 8,
    'handle (/app/server.js:10)': 4,
    'parse (/app/server.js:20)': 3,
    '(idle)': 4,
    'render (thread 7)': 12,
    'render (/app/worker.js:1)': 12,
    'fib (/app/worker.js:5)': 10,
  }
  for (const [name, n] of Object.entries(expected)) {
    const f = only(all, name)
    assert.equal(f.samples, n, name)
    assert.ok(Math.abs(f.widthPct - (100 * n) / total) < 0.01, `${name}: ${f.widthPct}%`)
  }
  assert.deepEqual(
    all.map((f) => f.name).sort(),
    ['all', ...Object.keys(expected)].sort(),
    'nothing else is drawn',
  )
  // The sync and async exports draw the same picture.
  return knownReport()
    .toFlamegraphAsync({ title: 'GET /x <&>' })
    .then((async) => assert.equal(async, svg))
})

test('toFlamegraph options: idle: false, minWidth, and errors that name the option', () => {
  const r = knownReport()
  const busy = frames(r.toFlamegraph({ idle: false }))
  assert.equal(only(busy, 'all').samples, 16)
  assert.ok(!busy.some((f) => f.name === '(idle)'))
  assert.equal(only(busy, 'main (thread 0)').samples, 4)

  const wide = frames(r.toFlamegraph({ minWidth: 30 }))
  assert.ok(
    wide.some((f) => f.name === 'fib (/app/worker.js:5)'),
    '50% stays',
  )
  assert.ok(!wide.some((f) => f.name === 'parse (/app/server.js:20)'), '15% goes')

  assert.throws(() => r.toFlamegraph({ minWidth: 101 }), /minWidth must be a percentage/)
  assert.throws(() => r.toFlamegraph({ title: 5 }), /title/)

  const empty = mergeProfiles([]).toFlamegraph({ title: 'nothing' })
  assert.match(empty, /<svg /)
  assert.match(empty, /no samples in this profile/)
})

test('ProfileReport.toFlamegraph of a real profiled worker shows the worker’s functions', async () => {
  const w = new Worker(WORK, { name: 'fg-worker' })
  try {
    const { report } = await within(
      // 'whole': the main thread's tower is drawn too (split, its idle wait holds nothing).
      runProfile(() => ask(w, { fn: 'taskA', ms: 150 }), {
        name: 'fg request',
        mainThread: 'whole',
      }),
      'runProfile',
    )
    const svg = await within(report.toFlamegraphAsync({ idle: false }), 'toFlamegraphAsync')
    assert.ok(svg.includes(`fg request — profile ${report.id}`), 'default title')
    const all = frames(svg)
    const tower = only(all, `fg-worker (thread ${w.threadId})`)
    assert.ok(only(all, 'main (thread 0)'))
    const fib = all.filter((f) => f.name.startsWith('fib (') && f.name.includes('work.js:'))
    const spin = all.filter((f) => f.name.startsWith('spin ('))
    assert.ok(fib.length > 0 && spin.length > 0, all.map((f) => f.name).join('\n'))
    assert.ok(spin.every((f) => f.samples > 0 && f.samples <= tower.samples))
    assert.ok(Math.abs(tower.widthPct - (100 * tower.samples) / only(all, 'all').samples) < 0.01)
    assert.deepEqual(report.toFlamegraph({ idle: false }), svg)

    assert.throws(() => report.toFlamegraph({ colour: 'red' }), {
      name: 'TypeError',
      message: /toFlamegraph\(\): unknown option "colour" \(known: title, minWidth, idle\)/,
    })
    assert.throws(() => report.toFlamegraph({ minWidth: -1 }), {
      name: 'RangeError',
      message: /options\.minWidth must be a percentage from 0 to 100, got the number -1/,
    })
    assert.throws(() => report.toFlamegraphAsync({ idle: 'no' }), /options\.idle must be a boolean/)
  } finally {
    await w.terminate()
  }
})

// One rule for minWidth, the Rust core's: the native Report and a profile's report take and
// refuse the same values, each with its own error.
test('minWidth: a profile’s report and the native Report refuse the same values', async () => {
  const { report } = await within(
    runProfile(async () => {}, { name: 'fg range' }),
    'runProfile',
  )
  const native = knownReport()
  for (const ok of [0, 0.01, 100]) {
    assert.match(report.toFlamegraph({ minWidth: ok }), /<svg /, `${ok}`)
    assert.match(await report.toFlamegraphAsync({ minWidth: ok }), /<svg /, `${ok}`)
    assert.match(native.toFlamegraph({ minWidth: ok }), /<svg /, `${ok}`)
  }
  // Each as its side prints a number (Rust writes Infinity as inf).
  for (const [bad, shown, nativeShown] of [
    [-0.5, 'the number -0.5', '-0.5'],
    [100.5, 'the number 100.5', '100.5'],
    [NaN, 'the number NaN', 'NaN'],
    [Infinity, 'the number Infinity', 'inf'],
  ]) {
    for (const call of ['toFlamegraph', 'toFlamegraphAsync']) {
      assert.throws(() => report[call]({ minWidth: bad }), {
        name: 'RangeError',
        code: 'ERR_OUT_OF_RANGE',
        message: `${call}(): options.minWidth must be a percentage from 0 to 100, got ${shown}`,
      })
      assert.throws(() => native[call]({ minWidth: bad }), {
        code: 'InvalidArg',
        message: `minWidth must be a percentage from 0 to 100, got ${nativeShown}`,
      })
    }
  }
})
