//! Typed column access over either backend's rows, and the closed enums read back from
//! their database strings. Data the database returns is never trusted: an unknown value
//! is a `Backend` error, not a panic.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Postgres, Row, Sqlite, Type};
use stackgate_store::{
    OrgRole, StackPermission, StoreError, StoreResult, Tags, TeamRole, TokenKind,
};

/// A Rust type both backends decode a column into (`String`, `i64`, `bool`, `Option`s).
pub trait Column:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Column for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A result row of either backend.
pub trait SqlRow {
    fn column<T: Column>(&self, name: &str) -> Result<T, sqlx::Error>;
}

impl SqlRow for SqliteRow {
    fn column<T: Column>(&self, name: &str) -> Result<T, sqlx::Error> {
        self.try_get(name)
    }
}

impl SqlRow for PgRow {
    fn column<T: Column>(&self, name: &str) -> Result<T, sqlx::Error> {
        self.try_get(name)
    }
}

/// One column of a row, typed.
pub fn get<T: Column, R: SqlRow>(row: &R, column: &str) -> StoreResult<T> {
    row.column(column)
        .map_err(|e| StoreError::Backend(format!("column {column}: {e}")))
}

/// A count column as `u64`.
pub fn get_count<R: SqlRow>(row: &R, column: &str) -> StoreResult<u64> {
    let n: i64 = get(row, column)?;
    u64::try_from(n).map_err(|_| bad_data("count", &n.to_string()))
}

pub fn bad_data(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("unexpected {what} {value:?} in the database"))
}

pub fn org_role<R: SqlRow>(row: &R, column: &str) -> StoreResult<OrgRole> {
    let s: String = get(row, column)?;
    OrgRole::parse(&s).ok_or_else(|| bad_data("org role", &s))
}

pub fn team_role<R: SqlRow>(row: &R, column: &str) -> StoreResult<TeamRole> {
    let s: String = get(row, column)?;
    TeamRole::parse(&s).ok_or_else(|| bad_data("team role", &s))
}

pub fn token_kind<R: SqlRow>(row: &R, column: &str) -> StoreResult<TokenKind> {
    let s: String = get(row, column)?;
    TokenKind::parse(&s).ok_or_else(|| bad_data("token kind", &s))
}

pub fn permission<R: SqlRow>(row: &R, column: &str) -> StoreResult<StackPermission> {
    let code: i64 = get(row, column)?;
    StackPermission::from_code(code).ok_or_else(|| bad_data("stack permission", &code.to_string()))
}

/// A JSON object of tag name → value, as text (SQLite's `json_group_object`,
/// PostgreSQL's `json_object_agg(...)::text`); NULL is no tags.
pub fn tags<R: SqlRow>(row: &R, column: &str) -> StoreResult<Tags> {
    let s: Option<String> = get(row, column)?;
    match s {
        None => Ok(Tags::new()),
        Some(s) => serde_json::from_str(&s).map_err(|e| bad_data("tag set", &e.to_string())),
    }
}
