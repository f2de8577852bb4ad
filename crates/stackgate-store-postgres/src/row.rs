//! Decoding helpers shared by the per-area modules: typed column access and the closed
//! enums read back from their database strings. Data the database returns is never
//! trusted: an unknown value is a `Backend` error, not a panic.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row};
use stackgate_store::{
    OrgRole, StackPermission, StoreError, StoreResult, Tags, TeamRole, TokenKind,
};

use crate::error::db_err;

/// One column of a row, typed.
pub(crate) fn get<'r, T>(row: &'r PgRow, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(db_err)
}

/// A count column as `u64`.
pub(crate) fn get_count(row: &PgRow, column: &str) -> StoreResult<u64> {
    let n: i64 = get(row, column)?;
    u64::try_from(n).map_err(|_| bad_data("count", &n.to_string()))
}

fn bad_data(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("unexpected {what} {value:?} in the database"))
}

pub(crate) fn org_role(row: &PgRow, column: &str) -> StoreResult<OrgRole> {
    let s: String = get(row, column)?;
    OrgRole::parse(&s).ok_or_else(|| bad_data("org role", &s))
}

pub(crate) fn team_role(row: &PgRow, column: &str) -> StoreResult<TeamRole> {
    let s: String = get(row, column)?;
    TeamRole::parse(&s).ok_or_else(|| bad_data("team role", &s))
}

pub(crate) fn token_kind(row: &PgRow, column: &str) -> StoreResult<TokenKind> {
    let s: String = get(row, column)?;
    TokenKind::parse(&s).ok_or_else(|| bad_data("token kind", &s))
}

pub(crate) fn permission(row: &PgRow, column: &str) -> StoreResult<StackPermission> {
    let code: i64 = get(row, column)?;
    StackPermission::from_code(code).ok_or_else(|| bad_data("stack permission", &code.to_string()))
}

/// A JSON object of tag name → value (as built by `json_object_agg`, cast to text).
pub(crate) fn tags(row: &PgRow, column: &str) -> StoreResult<Tags> {
    let s: Option<String> = get(row, column)?;
    match s {
        None => Ok(Tags::new()),
        Some(s) => serde_json::from_str(&s).map_err(|e| bad_data("tag set", &e.to_string())),
    }
}
