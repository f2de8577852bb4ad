//! Whole query results → records: an optional row, a list of rows, a count of rows
//! changed. The backends fetch (each with its own driver and error mapping) and hand the
//! rows here, so the step from rows to records is written once.

use stackgate_store::{StoreError, StoreResult};

use crate::row::SqlRow;

/// The record in `row`, if a row came back.
pub fn decode_optional<R: SqlRow, T>(
    row: Option<R>,
    decode: impl FnOnce(&R) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    row.map(|row| decode(&row)).transpose()
}

/// One record per row, in the order of the rows; the first undecodable row fails all.
pub fn decode_all<R: SqlRow, T>(
    rows: &[R],
    decode: impl Fn(&R) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    rows.iter().map(decode).collect()
}

/// `NotFound` ("{what} {key}") when a write that addresses one existing row changed
/// nothing (`rows_affected` of the driver's query result).
pub fn expect_affected(rows_affected: u64, what: &str, key: &str) -> StoreResult<()> {
    if rows_affected == 0 {
        Err(StoreError::NotFound(format!("{what} {key}")))
    } else {
        Ok(())
    }
}
