//! Test support for stackgate's storage backends, used by their tests and by the tests
//! of the crates above them (a dev-dependency only; nothing in a release build uses it).
//!
//! - [`story`]: the storage story, one scripted walk through every storage method with
//!   assertions on what comes back, written against the `stackgate_store` traits only so
//!   that every backend runs the very same script on a fresh, empty database;
//! - [`pg`]: a throw-away PostgreSQL schema per test ([`pg::TestSchema`]), so tests on one
//!   database run in parallel; skipped, saying so, without `STACKGATE_TEST_POSTGRES_URL`.

#![forbid(unsafe_code)]

pub mod pg;
pub mod story;
