//! What stackgate's two SQL backends (`stackgate-store-sqlite`, `stackgate-store-postgres`)
//! share: typed column access over either driver's rows ([`SqlRow`]), the decoders that
//! turn a row (or a whole result) into records, and the column lists that are the same
//! SQL on both.
//!
//! The SQL itself stays per backend (placeholders, types and locking differ); what is
//! here is only what would otherwise be written twice with different type names.

#![forbid(unsafe_code)]

mod decode;
mod results;
mod row;
mod state;

pub use decode::*;
pub use results::*;
pub use row::*;
pub use state::*;
