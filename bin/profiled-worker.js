#!/usr/bin/env node
'use strict'
// profiled-worker [options] -- node app.js [args...]: run the app with the profiler
// preloaded (lib/cli/preload.js does the profiling inside it) and exit as the app did.

const { spawn } = require('node:child_process')
const os = require('node:os')
const path = require('node:path')
const { parseCommandLine, UsageError, USAGE } = require('../lib/cli/args')

const PRELOAD = path.join(__dirname, '..', 'lib', 'cli', 'preload.js')
// Forwarded to the app. SIGUSR2 is the --signal toggle; without --signal the app gets it
// as it would without us.
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2']

const say = (text) => process.stderr.write(`profiled-worker: ${text}\n`)

/** NODE_OPTIONS takes double-quoted values with backslash escapes. */
const quote = (p) => `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

function main() {
  if (process.argv[2] === 'merge') {
    require('../lib/cli/merge')
      .runMerge(process.argv.slice(3))
      .then((code) => (process.exitCode = code))
    return
  }
  let settings
  try {
    settings = parseCommandLine(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`profiled-worker: ${err.message}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  if (settings.help) return void process.stdout.write(USAGE)
  if (settings.version) return void console.log(require('../package.json').version)

  const progress = Boolean(process.stderr.isTTY)
  const command = settings.command.join(' ')
  const userNodeOptions = process.env.NODE_OPTIONS ?? null
  const env = {
    ...process.env,
    NODE_OPTIONS: [`--require ${quote(PRELOAD)}`, userNodeOptions].filter(Boolean).join(' '),
    PROFILED_WORKER_CLI: JSON.stringify({
      command,
      out: settings.out,
      cwd: process.cwd(),
      mode: settings.mode,
      everyMs: settings.everyMs,
      every: settings.every,
      mainThread: settings.mainThread,
      firstOnly: settings.firstOnly,
      intervalUs: settings.intervalUs,
      progress,
      nodeOptions: userNodeOptions,
    }),
  }
  if (progress) {
    const what = settings.mainThread ? 'the main thread and every worker' : 'every worker'
    const when = {
      run: 'from start to exit',
      every: `in windows of ${settings.every}`,
      signal: `between SIGUSR2s (kill -USR2 ${process.pid})`,
    }[settings.mode]
    say(`profiling ${what} of \`${command}\` ${when} → ${path.relative('.', settings.out) || '.'}`)
  }

  const child = spawn(settings.command[0], settings.command.slice(1), { stdio: 'inherit', env })

  let terminations = 0
  const forward = (sig) => {
    if (sig !== 'SIGUSR2' && ++terminations > 1) {
      // Asked twice: the app may be stuck in synchronous code, where no handler runs.
      if (progress) say(`${sig} again: killing the app (SIGKILL); its profile is lost`)
      child.kill('SIGKILL')
      return
    }
    child.kill(sig)
  }
  for (const sig of FORWARDED) process.on(sig, forward)

  child.on('error', (/** @type {NodeJS.ErrnoException} */ err) => {
    // The command could not be started (spawn failed): the shell's exit codes.
    const why = { ENOENT: 'command not found', EACCES: 'permission denied' }[err.code]
    say(`cannot run ${JSON.stringify(settings.command[0])}: ${why ?? err.message} (${err.code})`)
    process.exit(err.code === 'ENOENT' ? 127 : 126)
  })

  child.on('exit', (code, signal) => {
    for (const sig of FORWARDED) process.off(sig, forward)
    if (!settings.firstOnly) combineProcesses(settings, progress)
    if (signal === null) process.exit(code)
    // Die of the same signal, so whoever started us sees what happened to the app; if
    // it is ignored here (nohup), exit as a shell reports a signal death.
    const fallback = 128 + (os.constants.signals[signal] ?? 0)
    try {
      process.kill(process.pid, signal)
    } catch {
      process.exit(fallback)
    }
    setTimeout(() => process.exit(fallback), 200).unref?.()
  })
}

/**
 * Every Node process of the command wrote into <out>/<pid>-<script>/: one pprof of all
 * of them at the top, written once they have all finished (they are all below us).
 */
function combineProcesses(settings, progress) {
  try {
    const { combineProcessDirs } = require('../lib/cli/merge')
    const n = combineProcessDirs(settings.out)
    if (progress && n > 0)
      say(`${n} process(es): combined into ${path.join(settings.out, 'profile.pb.gz')}`)
  } catch (err) {
    say(`could not combine the processes' profiles: ${err?.message ?? err}`)
  }
}

main()
