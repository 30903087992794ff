'use strict'
// Builds the addon (release) when the binary is missing or older than the Rust sources,
// so `npm test` and `npm run demo` always run against the current code.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.resolve(__dirname, '..')
const binaries = fs.readdirSync(root).filter((f) => /^profiled-worker\..+\.node$/.test(f))
const builtAt = Math.min(
  ...['binding.js', ...binaries].map((f) =>
    fs.existsSync(path.join(root, f)) ? fs.statSync(path.join(root, f)).mtimeMs : 0,
  ),
)

function newestSource(p) {
  const st = fs.statSync(p)
  if (!st.isDirectory()) return st.mtimeMs
  return Math.max(0, ...fs.readdirSync(p).map((f) => newestSource(path.join(p, f))))
}
const sourcesAt = Math.max(
  ...['src', 'Cargo.toml', 'Cargo.lock', 'build.rs'].map((f) => newestSource(path.join(root, f))),
)

if (binaries.length === 0 || builtAt < sourcesAt) {
  console.error(
    binaries.length
      ? 'profiled-worker: Rust sources changed; rebuilding the addon'
      : 'profiled-worker: building the addon',
  )
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
