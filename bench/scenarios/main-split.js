'use strict'
// The cost of splitting the main thread by profile (issue #15, item 4): an HTTP server
// with 16 keep-alive clients in one process (bench/scenarios/workers/http-requests.js),
// each sample a fresh process, the arms interleaved in one run:
// - profiling on, split (the default) against mainThread: 'whole': what following each
//   callback's context costs;
// - profiled-worker loaded with no profile active against plain Node (not loaded).
//
//   node bench/scenarios/main-split.js [--quick]

const path = require('node:path')
const { full, interleavedAsync, stats, main, runNode, fmtNum } = require('../harness')

const APP = path.join(__dirname, 'workers', 'http-requests.js')
const ROUNDS = full(9, 3)
const WINDOW_MS = full(1500, 800)
const TARGET_SPLIT = 0.98 // split costs ≤ 2% of whole
const TARGET_IDLE = 0.99 // the patch with no profile ≥ 0.99× plain

async function sample(arm) {
  const r = await runNode(APP, [arm, String(WINDOW_MS)], { timeoutMs: 60_000 })
  const line = r.lines.find((l) => typeof l.rps === 'number')
  if (r.outcome !== 'ok' || !line) throw new Error(`${arm}: ${r.outcome} ${r.stderr}`)
  return line
}

async function run(log) {
  const S = 'main thread split: HTTP requests'
  log(`${S}: ${ROUNDS} rounds × ${WINDOW_MS} ms per arm`)
  const arms = ['plain', 'patched', 'split', 'whole']
  const r = await interleavedAsync(
    arms.map((name) => ({ name, sample: () => sample(name) })),
    { rounds: ROUNDS, log },
  )
  const rps = (arm) => stats(r[arm].map((x) => x.rps))
  const perMain = (arm) => stats(r[arm].map((x) => x.perMainCpuS))
  const perCpu = (arm) => stats(r[arm].map((x) => x.perCpuS))
  const row = (arm, label, base, target, limit) => {
    const m = perMain(arm)
    const out = {
      scenario: S,
      arm: label,
      ...m,
      unit: 'req/main-CPU-s',
      ratio:
        `${fmtNum(rps(arm).median)} req/s, ` + `${fmtNum(perCpu(arm).median)} req/process-CPU-s`,
    }
    if (base === undefined) return { ...out, ratio: `baseline; ${out.ratio}` }
    const ratio = m.median / perMain(base).median
    const others =
      `req/s ${(rps(arm).median / rps(base).median).toFixed(3)}×, ` +
      `process CPU ${(perCpu(arm).median / perCpu(base).median).toFixed(3)}×`
    return {
      ...out,
      ratio: `${ratio.toFixed(3)}× ${base} (${others}); ${out.ratio}`,
      target,
      met: ratio >= limit,
    }
  }
  return {
    rows: [
      row('plain', 'plain Node (profiled-worker not loaded)'),
      row(
        'patched',
        'profiled-worker loaded, no profile',
        'plain',
        `≥ ${TARGET_IDLE}×`,
        TARGET_IDLE,
      ),
      row('whole', "profiling on, mainThread: 'whole'"),
      row('split', 'profiling on, split (default)', 'whole', `≥ ${TARGET_SPLIT}×`, TARGET_SPLIT),
    ],
    notes: [
      'main-split: a node:http server and 16 keep-alive clients in one process, each request ' +
        'a little JSON work on either side of an await. Profiling on: one profile always ' +
        'active (250 ms windows, each in its own async context, the next starting as the ' +
        'last stops) and every 4th request handled in the current window’s context; split ' +
        'and whole differ only in mainThread. Each sample is a fresh process ' +
        `(${WINDOW_MS} ms after a 500 ms warm-up), ${ROUNDS} interleaved rounds. Medians are ` +
        'requests per CPU-second of the main thread (from /proc schedstat: what bounds a ' +
        'server, and what the hooks cost), on which the targets are judged; a shared ' +
        'machine disturbs requests per wall-clock second far more. Process CPU includes ' +
        'V8’s sampling thread, the same in split and whole.',
    ],
  }
}

if (require.main === module) main(run)

module.exports = { run }
