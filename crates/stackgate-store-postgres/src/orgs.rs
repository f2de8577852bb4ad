//! The `orgs` table. Settings are one JSONB document (`OrgSettings` via serde), so a new
//! setting needs no schema change; fields missing from an older document take defaults.

use sqlx::postgres::PgRow;
use sqlx::PgConnection;
use stackgate_store::{Org, OrgCounts, OrgSettings, StoreError, StoreResult};

use crate::error::{db_err, expect_affected};
use crate::row::{get, get_count};

/// Org columns under `org_*` aliases, for any query that joins `orgs o`.
pub(crate) const ORG_COLS: &str = "o.id AS org_id, o.name AS org_name, \
     o.created AS org_created, o.settings::text AS org_settings";

pub(crate) fn org_from_row(row: &PgRow) -> StoreResult<Org> {
    let settings: String = get(row, "org_settings")?;
    let settings = serde_json::from_str(&settings)
        .map_err(|e| StoreError::Backend(format!("unreadable org settings: {e}")))?;
    Ok(Org {
        id: get(row, "org_id")?,
        name: get(row, "org_name")?,
        created: get(row, "org_created")?,
        settings,
    })
}

fn settings_json(settings: &OrgSettings) -> StoreResult<String> {
    serde_json::to_string(settings)
        .map_err(|e| StoreError::Backend(format!("cannot encode org settings: {e}")))
}

async fn org_where(
    conn: &mut PgConnection,
    condition: &str,
    value: &str,
) -> StoreResult<Option<Org>> {
    let sql = format!("SELECT {ORG_COLS} FROM orgs o WHERE {condition}");
    sqlx::query(&sql)
        .bind(value)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|row| org_from_row(&row))
        .transpose()
}

pub(crate) async fn by_name(conn: &mut PgConnection, name: &str) -> StoreResult<Option<Org>> {
    org_where(conn, "o.name = $1", name).await
}

pub(crate) async fn by_id(conn: &mut PgConnection, id: &str) -> StoreResult<Option<Org>> {
    org_where(conn, "o.id = $1", id).await
}

pub(crate) async fn all(conn: &mut PgConnection) -> StoreResult<Vec<Org>> {
    let sql = format!("SELECT {ORG_COLS} FROM orgs o ORDER BY o.name");
    sqlx::query(&sql)
        .fetch_all(conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(org_from_row)
        .collect()
}

pub(crate) async fn insert(conn: &mut PgConnection, org: &Org) -> StoreResult<()> {
    sqlx::query("INSERT INTO orgs (id, name, created, settings) VALUES ($1, $2, $3, $4::jsonb)")
        .bind(&org.id)
        .bind(&org.name)
        .bind(org.created)
        .bind(settings_json(&org.settings)?)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn update_settings(
    conn: &mut PgConnection,
    org_id: &str,
    settings: &OrgSettings,
) -> StoreResult<()> {
    let done = sqlx::query("UPDATE orgs SET settings = $1::jsonb WHERE id = $2")
        .bind(settings_json(settings)?)
        .bind(org_id)
        .execute(conn)
        .await
        .map_err(db_err)?;
    expect_affected(done, "org", org_id)
}

pub(crate) async fn counts(conn: &mut PgConnection, org_id: &str) -> StoreResult<OrgCounts> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM memberships WHERE org_id = $1) AS members, \
                (SELECT COUNT(*) FROM stacks WHERE org_id = $1) AS stacks",
    )
    .bind(org_id)
    .fetch_one(conn)
    .await
    .map_err(db_err)?;
    Ok(OrgCounts {
        members: get_count(&row, "members")?,
        stacks: get_count(&row, "stacks")?,
    })
}
