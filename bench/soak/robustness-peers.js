'use strict'
// Crash comparison: terminate a worker while a CPU profiler runs in it, many times, for
// ours and for peer profilers loaded inside the worker. Each (profiler, run) is its own
// child process, so a segfault or abort is counted instead of ending the benchmark.
//
//   node bench/soak/robustness-peers.js                 (or: npm run bench:robustness)
//   node bench/soak/robustness-peers.js --runs 1 --cycles 50 --only ours,inspector
//   node bench/soak/robustness-peers.js --control   (the profile is stopped before terminate():
//                                               tells a crash of terminate-while-profiling
//                                               from one of worker teardown as such)
//
// Peers come from bench/peers (npm run bench:peers:install); a peer that is missing or
// does not load in a worker prints "not installed: <reason>" and is skipped.
//
// One cycle: create a worker that does CPU work in 5 ms slices (yielding between them),
// let it report that a profile is active in it, wait a seeded 0–20 ms, then terminate()
// it while it is still profiling. Figures only: the exit code is non-zero only when this
// script itself breaks, never for a crash or hang it measured.

const path = require('node:path')
const wt = require('node:worker_threads')
const { nextMessage, runNode, emit, sleep, loadOurs } = require('../harness')
const { rng } = require('../synth')
const { PEERS, resolvePeer, startProfiler } = require('../peer-profilers')

const ROOT = path.resolve(__dirname, '..', '..')

const CYCLES = 200
const RUNS = 3
const SLICE_MS = 5 // worker CPU work per slice
const MAX_DELAY_MS = 20 // terminate lands this long (seeded, uniform) after "profiling"
const CHILD_TIMEOUT_MS = 150_000 // per child process (one run of one profiler)

/**
 * Every arm. `kind` is what the worker runs (see workerMain); `peer` names the package it
 * loads; `mainLoad` also loads the peer on the main thread first, as an app that uses the
 * profiler for its main thread does (and as v8-profiler-next's README shows for workers).
 */
const PROFILERS = [
  {
    key: 'ours',
    kind: 'ours',
    label: 'ours (ProfiledWorker)',
    what: 'profile started on the main thread, worker created inside it (profiled from its first line); terminate() stops the profile in the worker, then terminates',
  },
  {
    key: 'ours-stuck',
    kind: 'ours',
    label: 'ours, worker never yields',
    what: 'as ours, but the worker spins in one synchronous loop and never reads its port, so terminate() has to stop the profile in a thread that does not answer (or give up after stopTimeoutMs and terminate with sampling live)',
    stuck: true,
  },
  ...PEERS.flatMap((p) => [
    {
      key: p.key,
      kind: p.key,
      peer: p.name,
      mainLoad: true,
      label: `${p.name} (main + worker)`,
      what: `${p.what}; also required on the main thread before any worker starts`,
    },
    {
      key: `${p.key}-worker-only`,
      kind: p.key,
      peer: p.name,
      mainLoad: false,
      label: `${p.name} (worker only)`,
      what: `${p.what}; never loaded on the main thread`,
    },
  ]),
  {
    key: 'inspector',
    kind: 'inspector',
    label: 'node:inspector Profiler (floor)',
    what: 'new inspector.Session(), Profiler.enable/.start in the worker: what ours uses underneath, with nothing else',
  },
]

// ---------------------------------------------------------------------------------------
// Worker side: this same file, run as the worker's script.

function spin(ms) {
  const end = Date.now() + ms
  let x = 0
  while (Date.now() < end) x += Math.sqrt(x + 1)
  return x
}

function workerMain() {
  const { kind, peerPath, stuck, probe, control } = wt.workerData
  let stop = () => {}
  switch (kind) {
    case 'ours': {
      // The profile was started before this line ran (the worker was created inside it).
      const active = require(ROOT).currentProfiles().length
      if (active !== 1) throw new Error(`expected 1 active profile in the worker, saw ${active}`)
      break
    }
    default:
      stop = startProfiler(kind, { peerPath, intervalUs: 1000 })
      break
  }
  if (probe) {
    // Availability check: profile 50 ms of work, stop normally, report the samples.
    spin(50)
    wt.parentPort.postMessage({ t: 'probe', samples: kind === 'ours' ? -1 : stop() })
    return
  }
  if (control && kind !== 'ours') {
    // Control: the same work and terminate, but the profile is stopped first.
    spin(SLICE_MS)
    stop()
  }
  wt.parentPort.postMessage({ t: 'profiling' })
  if (stuck) {
    for (;;) spin(SLICE_MS)
  }
  const slice = () => {
    spin(SLICE_MS)
    setImmediate(slice)
  }
  slice()
}

// ---------------------------------------------------------------------------------------
// Child process: one profiler, `cycles` cycles, JSON lines on stdout (written
// synchronously by emit(), so the lines before a crash are not lost).

async function childMain(key, cycles, seed, control) {
  const arm = PROFILERS.find((p) => p.key === key)
  const PlainWorker = wt.Worker
  let peerPath
  if (arm.peer) {
    try {
      peerPath = resolvePeer(arm.peer)
    } catch (err) {
      emit({ t: 'unavailable', reason: `${arm.peer} not found in bench/peers (${err.code})` })
      return
    }
  }
  if (arm.mainLoad) {
    try {
      require(peerPath)
    } catch (err) {
      emit({ t: 'unavailable', reason: `${arm.peer} does not load: ${err.message}` })
      return
    }
  }
  const ours = arm.kind === 'ours'
  const pw = ours ? await loadOurs() : null
  const { AsyncResource } = require('node:async_hooks')
  const Worker = ours ? wt.Worker : PlainWorker // patched by require(ROOT) for ours
  const data = { kind: arm.kind, peerPath, stuck: !!arm.stuck, control }
  const profileOptions = { mainThread: false }

  /** A new worker; for ours inside a new profile (returned too). */
  function create(extra) {
    if (!ours) return { w: new Worker(__filename, { workerData: { ...data, ...extra } }) }
    const ctx = new AsyncResource('robustness-cycle')
    return ctx.runInAsyncScope(() => {
      const profile = pw.startProfile(profileOptions)
      const w = new Worker(__filename, { workerData: { ...data, ...extra } })
      return { w, profile }
    })
  }

  // Probe: load and profile once in a worker, stopped normally. Not loadable → unavailable.
  {
    const { w, profile } = create({ probe: true, stuck: false })
    try {
      const m = await nextMessage(w, 'profiling')
      if (profile) await profile.stop()
      emit({ t: 'probe', samples: m.samples })
    } catch (err) {
      await w.terminate()
      if (profile) await profile.stop()
      emit({ t: 'unavailable', reason: `does not load in a worker: ${err.message}` })
      return
    }
    await w.terminate()
  }

  const rand = rng(seed)
  const statuses = {} // ours: the worker thread's status in each report
  let noSamples = 0 // ours: reports whose worker thread has no sample
  let errors = 0
  let firstError = null
  const started = performance.now()
  for (let i = 0; i < cycles; i++) {
    const t0 = performance.now()
    const { w, profile } = create({})
    try {
      await nextMessage(w, 'profiling')
    } catch (err) {
      errors++
      firstError ??= `cycle ${i}: ${err.message}`
    }
    await sleep(rand() * MAX_DELAY_MS)
    // Control: ours stops the profile before terminate(), as the peers' workers do then.
    const early = control && profile ? await profile.stop() : null
    await w.terminate()
    if (profile) {
      const report = early ?? (await profile.stop())
      const t = report.threads.find((x) => x.threadId !== 0)
      const s = t ? `${t.status}${t.exitCode !== null ? ` ${t.exitCode}` : ''}` : 'missing'
      statuses[s] = (statuses[s] ?? 0) + 1
      if (!t || t.profile.sampleCount === 0) noSamples++
    }
    emit({ t: 'cycle', i, ms: performance.now() - t0 })
  }
  emit({ t: 'done', ms: performance.now() - started, errors, firstError, statuses, noSamples })
  // Then exit on our own: a handle left behind shows up as a hang.
}

// ---------------------------------------------------------------------------------------
// Parent: one child per (profiler, run), bounded by a timeout.

function runChild(key, cycles, seed, control, timeoutMs) {
  const args = ['--child', key, String(cycles), String(seed), control ? 'control' : '']
  return runNode(__filename, args, { timeoutMs })
}

function summarize(run) {
  const cycles = run.lines.filter((l) => l.t === 'cycle')
  const done = run.lines.find((l) => l.t === 'done')
  const unavailable = run.lines.find((l) => l.t === 'unavailable')
  const probe = run.lines.find((l) => l.t === 'probe')
  let outcome = 'ok'
  if (run.hung) outcome = 'hung'
  else if (run.signal) outcome = `crashed (${run.signal}${done ? ' at exit' : ''})`
  else if (run.code !== 0) outcome = `crashed (exit ${run.code}${done ? ' at exit' : ''})`
  else if (!done && !unavailable) outcome = 'crashed (exit 0 before finishing)'
  const msPerCycle = cycles.length ? cycles.map((c) => c.ms) : []
  return { outcome, cycles: cycles.length, done, unavailable, probe, msPerCycle, run }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length ? (s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2) : NaN
}

function fmt(ms) {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)
}

function lastLines(text, n) {
  return text.trim().split('\n').slice(-n).join(' | ').slice(0, 400)
}

async function parentMain(argv) {
  const opt = (name, dflt) => {
    const at = argv.indexOf(`--${name}`)
    return at >= 0 ? argv[at + 1] : dflt
  }
  const runs = Number(opt('runs', RUNS))
  const cycles = Number(opt('cycles', CYCLES))
  const only = opt('only')?.split(',')
  const control = argv.includes('--control')
  const { environment } = require('../harness')
  const started = Date.now()
  const arms = PROFILERS.filter((p) => !only || only.includes(p.key))

  console.log(`${new Date().toISOString().slice(0, 10)}; ${environment().replace(/, gc .*/, '')}`)
  console.log(
    `${
      control
        ? `CONTROL: the profile is stopped before terminate() (ours: profile.stop(); peers: in the worker, ${SLICE_MS} ms after its start).`
        : 'terminate() while the worker is profiling.'
    } ${cycles} create → profile → terminate cycles per run, ${runs} runs per profiler, each run a fresh \`node\` child (timeout ${CHILD_TIMEOUT_MS / 1000} s); worker work in ${SLICE_MS} ms slices; terminate 0–${MAX_DELAY_MS} ms (seeded) after the worker reports profiling.\n`,
  )
  const rows = []
  const notes = []
  for (const arm of arms) {
    process.stderr.write(`== ${arm.label}: ${runs} × ${cycles} cycles\n`)
    const results = []
    for (let r = 0; r < runs; r++) {
      const res = summarize(await runChild(arm.key, cycles, 1000 + r, control, CHILD_TIMEOUT_MS))
      results.push(res)
      process.stderr.write(
        `   run ${r + 1}: ${res.unavailable ? 'unavailable' : res.outcome}, ${res.cycles}/${cycles} cycles\n`,
      )
      if (res.unavailable) break
    }
    const unavailable = results.find((x) => x.unavailable)
    if (unavailable) {
      rows.push({ arm, unavailable: unavailable.unavailable.reason })
      continue
    }
    rows.push({ arm, results })
    for (const [r, res] of results.entries()) {
      if (res.outcome !== 'ok' && res.run.stderr.trim()) {
        notes.push(
          `${arm.label}, run ${r + 1}: ${res.outcome} after ${res.cycles} cycles; stderr: ${lastLines(res.run.stderr, 3)}`,
        )
      }
      if (res.done?.errors) {
        notes.push(
          `${arm.label}, run ${r + 1}: ${res.done.errors} cycles where the worker failed before profiling (${res.done.firstError})`,
        )
      }
    }
    const statuses = {}
    for (const res of results)
      for (const [s, n] of Object.entries(res.done?.statuses ?? {}))
        statuses[s] = (statuses[s] ?? 0) + n
    if (Object.keys(statuses).length) {
      const empty = results.reduce((n, x) => n + (x.done?.noSamples ?? 0), 0)
      notes.push(
        `${arm.label}: worker thread in the reports: ${Object.entries(statuses)
          .map(([s, n]) => `status ${s} ×${n}`)
          .join(', ')}; ${empty} without samples`,
      )
    }
  }

  // Table.
  const header = [
    'profiler',
    'runs crashed',
    'runs hung',
    'cycles completed per run',
    'no profile',
    'ms/cycle median (min–max)',
    'probe',
  ]
  const cells = []
  const unavailableLines = []
  const reason = (x) => x.outcome.replace(/^crashed \((.*)\)$/, '$1')
  for (const row of rows) {
    if (row.unavailable) {
      unavailableLines.push(`${row.arm.label}: not installed: ${row.unavailable}`)
      continue
    }
    const { results } = row
    const crashed = results.filter((x) => x.outcome.startsWith('crashed'))
    const hung = results.filter((x) => x.outcome === 'hung')
    const how = [...new Set(crashed.map(reason))]
    const perRun = results.map((x) => `${x.cycles}${x.outcome === 'ok' ? '' : ` (${reason(x)})`}`)
    const all = results.flatMap((x) => x.msPerCycle)
    const errors = results.reduce((n, x) => n + (x.done?.errors ?? 0), 0)
    const probe = results[0].probe?.samples
    cells.push([
      row.arm.label,
      `${crashed.length} of ${results.length}${how.length ? ` (${how.join(', ')})` : ''}`,
      `${hung.length} of ${results.length}`,
      `${perRun.join(', ')} of ${cycles}`,
      String(errors),
      all.length ? `${fmt(median(all))} (${fmt(Math.min(...all))}–${fmt(Math.max(...all))})` : '–',
      probe === undefined ? '–' : probe < 0 ? 'ok' : `${probe} samples`,
    ])
  }
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c) =>
    c
      .map((x, i) => x.padEnd(widths[i]))
      .join(' | ')
      .trimEnd()
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'))
  for (const c of cells) console.log(line(c))
  for (const u of unavailableLines) console.log(u)
  console.log('\nWhat each arm does in the worker:')
  for (const arm of arms) console.log(`  - ${arm.label}: ${arm.what}`)
  console.log(
    [
      '',
      'runs crashed: the child died by a signal or exited non-zero (its stderr is in the notes if it',
      'printed any). runs hung: killed after the timeout. no profile: cycles whose worker failed',
      "before it was profiling (it emitted 'error' or exited). ms/cycle: each completed cycle,",
      `create → profiling → seeded 0–${MAX_DELAY_MS} ms → terminate() resolved (ours: + profile.stop()`,
      'resolved), over every run. probe: before the runs, one worker profiles 50 ms of work and',
      'stops normally; its samples show the profiler works in a worker (ours: every report is',
      'checked instead).',
    ].join('\n'),
  )
  if (notes.length) {
    console.log('\nNotes:')
    for (const n of notes) console.log(`  - ${n}`)
  }
  console.log(`\nTotal time: ${((Date.now() - started) / 1000).toFixed(0)} s`)
}

if (!wt.isMainThread) {
  workerMain()
} else if (process.argv[2] === '--child') {
  const [key, cycles, seed, control] = process.argv.slice(3)
  childMain(key, Number(cycles), Number(seed), control === 'control').catch((err) => {
    process.stderr.write(`${err.stack}\n`)
    process.exitCode = 70
  })
} else {
  parentMain(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${err.stack}\n`)
    process.exitCode = 1
  })
}
