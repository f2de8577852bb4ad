//! The `orgs` table. Settings are one JSONB document (`OrgSettings` via serde), so a new
//! setting needs no schema change; fields missing from an older document take defaults.

use async_trait::async_trait;
use sqlx::PgConnection;
use stackgate_store::{Org, OrgCounts, OrgSettings, OrgStore, StoreError, StoreResult};
use stackgate_store_sql::{get_count, org_from_row};

use crate::error::{db_err, expect_affected};
use crate::tx::PgTx;

/// Org columns under `org_*` aliases, for any query that joins `orgs o`.
pub(crate) const ORG_COLS: &str = "o.id AS org_id, o.name AS org_name, \
     o.created AS org_created, o.settings::text AS org_settings";

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

#[async_trait]
impl OrgStore for PgTx {
    async fn org_by_name(&mut self, name: &str) -> StoreResult<Option<Org>> {
        let conn = self.conn();
        org_where(conn, "o.name = $1", name).await
    }

    async fn org_by_id(&mut self, id: &str) -> StoreResult<Option<Org>> {
        let conn = self.conn();
        org_where(conn, "o.id = $1", id).await
    }

    async fn insert_org(&mut self, org: &Org) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO orgs (id, name, created, settings) VALUES ($1, $2, $3, $4::jsonb)",
        )
        .bind(&org.id)
        .bind(&org.name)
        .bind(org.created)
        .bind(settings_json(&org.settings)?)
        .execute(conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn update_org_settings(
        &mut self,
        org_id: &str,
        settings: &OrgSettings,
    ) -> StoreResult<()> {
        let conn = self.conn();
        let done = sqlx::query("UPDATE orgs SET settings = $1::jsonb WHERE id = $2")
            .bind(settings_json(settings)?)
            .bind(org_id)
            .execute(conn)
            .await
            .map_err(db_err)?;
        expect_affected(done, "org", org_id)
    }

    async fn org_counts(&mut self, org_id: &str) -> StoreResult<OrgCounts> {
        let conn = self.conn();
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

    async fn list_orgs(&mut self) -> StoreResult<Vec<Org>> {
        let conn = self.conn();
        let sql = format!("SELECT {ORG_COLS} FROM orgs o ORDER BY o.name");
        sqlx::query(&sql)
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(org_from_row)
            .collect()
    }
}
