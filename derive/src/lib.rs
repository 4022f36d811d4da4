//! Derive macros for `coshare`. Do not use this crate directly: use the
//! re-exports of the `coshare` crate, which the generated code refers to.
#![forbid(unsafe_code)]
