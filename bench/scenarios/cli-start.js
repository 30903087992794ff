'use strict'
// Worker start under the command line: an app that starts 10 empty workers one after
// another (bench/scenarios/workers/ten-workers.js, timed inside the app), run by plain
// node, by `node --cpu-prof` and by `profiled-worker --`, interleaved in one run.
//
//   node bench/scenarios/cli-start.js [--quick]

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const { full, interleavedAsync, stats, main } = require('../harness')

const APP = path.join(__dirname, 'workers', 'ten-workers.js')
const CLI = path.join(__dirname, '..', '..', 'bin', 'profiled-worker.js')
const ROUNDS = full(9, 3)
const TARGET = 1 // no slower than --cpu-prof

async function run(log) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-cli-start-'))
  const ms = (args) => Number(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim())
  try {
    const arms = [
      { name: 'plain', sample: () => ms([APP]) },
      { name: 'cpu-prof', sample: () => ms(['--cpu-prof', '--cpu-prof-dir', dir, APP]) },
      {
        name: 'cli',
        sample: () => ms([CLI, '-o', path.join(dir, 'ours'), '--', process.execPath, APP]),
      },
    ]
    const S = 'CLI: 10 empty workers one after another'
    log(`${S}: ${ROUNDS} rounds per arm`)
    const r = await interleavedAsync(arms, { rounds: ROUNDS, log })
    const plain = stats(r.plain)
    const cpuProf = stats(r['cpu-prof'])
    const cli = stats(r.cli)
    const ratio = cli.median / cpuProf.median
    return {
      rows: [
        { scenario: S, arm: 'plain node', ...plain, ratio: 'baseline' },
        {
          scenario: S,
          arm: 'node --cpu-prof',
          ...cpuProf,
          ratio: `${(cpuProf.median / plain.median).toFixed(2)}×`,
        },
        {
          scenario: S,
          arm: 'profiled-worker --',
          ...cli,
          ratio: `${(cli.median / plain.median).toFixed(2)}× plain, ${ratio.toFixed(2)}× --cpu-prof`,
          target: '≤ 1× --cpu-prof',
          met: ratio <= TARGET,
        },
      ],
      notes: [
        'cli-start: ms from the first new Worker to the last exit, measured inside the app, ' +
          `${ROUNDS} interleaved rounds; the CLI profiles the app's main thread and every worker.`,
      ],
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (require.main === module) main(run)

module.exports = { run }
