'use strict'
// Every error message a user of the package can see, in one place: the texts are part of
// the interface (tests and users match them).

function describe(v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'number') return `the number ${v}`
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`
  return `a ${typeof v}`
}

const withCode = (err, code) => Object.assign(err, { code })

module.exports = {
  describe,
  invalidArgType: (name, expected, got) =>
    withCode(
      new TypeError(`${name} must be ${expected}, got ${describe(got)}`),
      'ERR_INVALID_ARG_TYPE',
    ),
  outOfRange: (name, expected, got) =>
    withCode(
      new RangeError(`${name} must be ${expected}, got ${describe(got)}`),
      'ERR_OUT_OF_RANGE',
    ),
  unknownOption: (where, name, known) =>
    withCode(
      new TypeError(
        `${where}: unknown option ${JSON.stringify(name)} (known: ${known.join(', ')})`,
      ),
      'ERR_INVALID_ARG_VALUE',
    ),
  // The same shape as invalidArgType, without a code: mergeProfiles and deserialize have
  // thrown these from the start.
  mustBe: (name, expected, got) =>
    new TypeError(`${name} must be ${expected}, got ${describe(got)}`),
  notThreadId: (name, got) =>
    new TypeError(`${name} must be a non-negative integer, got ${String(got)}`),
  unknownMergeOption: (name) =>
    new TypeError(`mergeProfiles: unknown option ${JSON.stringify(name)}`),
  notMicros: (where, got) =>
    new TypeError(`${where}: expected a finite number of µs, got ${describe(got)}`),
  notJsonObject: (where) => new TypeError(`${where}: value must be an object`),
  bigIntCollision: () =>
    new Error('serialize: could not place every BigInt (a string collided with the marker)'),
  /** `at`: what the scanner found and where ({ message, position, line, column }). */
  jsonSyntax: (at) =>
    Object.assign(
      new SyntaxError(
        `${at.message} in JSON at position ${at.position} (line ${at.line} column ${at.column})`,
      ),
      { position: at.position, line: at.line, column: at.column },
    ),
  notHttpUrl: (name, got) => new TypeError(`${name} must be an http(s) URL, got ${got}`),
  badLabel: (where, name, value) =>
    new TypeError(`${where}: pyroscope tag ${name}=${value} is not a valid label`),
  noAnswer: (timeoutMs) => new Error(`no answer within ${timeoutMs} ms`),
  mainThreadOnly: (where) =>
    withCode(new Error(`${where} can only be called on the main thread`), 'ERR_PROFILE_THREAD'),
  continuousRunning: () =>
    withCode(
      new Error('startContinuous(): continuous profiling is already running'),
      'ERR_PROFILE_ACTIVE',
    ),
  /** The addon is neither beside the package (`root`) nor in this platform's package `pkg`. */
  notBuilt: (root, pkg, cause) =>
    withCode(
      new Error(
        'profiled-worker: the native addon is not built for ' +
          `${process.platform}-${process.arch} (looked in ${root} and for the package ${pkg}). ` +
          `npm installs ${pkg} as an optional dependency where it is published: reinstall ` +
          'without --omit=optional (or --no-optional). ' +
          `From a clone: Build it with \`npm run build\` in ${root} (needs Rust and Cargo).`,
        { cause },
      ),
      'ERR_PROFILED_WORKER_NOT_BUILT',
    ),
  alreadyProfiling: (id) =>
    withCode(
      new Error(
        `a profile is already active for this async context (async id ${id}); ` +
          'stop it first, or use runProfile() to give the work its own context',
      ),
      'ERR_PROFILE_ACTIVE',
    ),
}
