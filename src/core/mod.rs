//! The profile core. Nothing here knows about N-API or JavaScript.

pub mod bigjson;
pub mod concat;
pub mod cpu_clock;
pub mod encode;
pub mod period;
pub mod profile;
pub mod report;
pub mod v8_unescaped;
pub mod window;
