'use strict'
// What our replacements of Node's functions show when inspected: the function they
// replace. `Function.prototype.toString` of the patched Worker, MessageChannel or
// MessagePort#postMessage gives plain Node's text ("function postMessage() { [native
// code] }", the source of Node's Worker class), so code that checks for a native or an
// untouched built-in cannot tell. That takes a toString of our own on
// Function.prototype, which itself shows the built-in's text; every other function goes
// to the built-in unchanged (and throws its TypeError for a non-function).

const builtinToString = Function.prototype.toString
const apply = Reflect.apply
const weakGet = WeakMap.prototype.get
// Our function → the one it stands for.
const faces = new WeakMap()

const toString = {
  // A method, like the built-in: no prototype, not a constructor.
  toString() {
    const shown = apply(weakGet, faces, [this])
    return apply(builtinToString, shown === undefined ? this : shown, [])
  },
}.toString
faces.set(toString, builtinToString)

/** `fn` shows as `original` to Function.prototype.toString. Returns `fn`. */
function mask(fn, original) {
  faces.set(fn, faces.get(original) ?? original)
  return fn
}

function install() {
  const d = Object.getOwnPropertyDescriptor(Function.prototype, 'toString')
  // --frozen-intrinsics: Function.prototype cannot change, so it stays the built-in.
  if (d === undefined || d.value === toString || !d.configurable) return
  Object.defineProperty(Function.prototype, 'toString', { ...d, value: toString })
}

/** Puts the built-in back, unless someone replaced ours since. */
function uninstall() {
  const d = Object.getOwnPropertyDescriptor(Function.prototype, 'toString')
  if (d?.value !== toString || !d.configurable) return
  Object.defineProperty(Function.prototype, 'toString', { ...d, value: builtinToString })
}

module.exports = { mask, install, uninstall }
