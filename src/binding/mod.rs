//! The N-API surface: converts between JS values and the core, nothing more.

mod clock;
mod guard;
mod json;
mod period;
mod profile;
mod report;
mod task;
