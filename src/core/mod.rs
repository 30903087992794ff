//! The profile core. Nothing here knows about N-API or JavaScript.

pub mod assemble;
pub mod bigjson;
pub mod concat;
pub mod cpu_clock;
pub mod encode;
pub mod own;
pub mod period;
pub mod profile;
pub mod report;
#[cfg(test)]
pub(crate) mod testing;
pub mod v8_unescaped;
pub mod window;
