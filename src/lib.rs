#![deny(clippy::all)]
//! profiled-worker's native addon: a pure-Rust profile core (`core`) and the thin N-API
//! layer that exposes it (`binding`).

// napi-derive emits no registration glue under cfg(test), so the binding would look
// unused there; the JS test suite exercises it instead.
#[cfg(not(test))]
mod binding;
pub mod core;
