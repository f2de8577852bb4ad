//! The `orgs` table. Settings are one JSONB document (`OrgSettings` via serde), so a new
//! setting needs no schema change; fields missing from an older document take defaults.

use async_trait::async_trait;
use stackgate_store::{Org, OrgCounts, OrgId, OrgSettings, OrgStore, StoreError, StoreResult};
use stackgate_store_sql::{get_count, org_from_row};

use crate::tx::{PgTx, Table};

/// Org columns under `org_*` aliases, for any query that joins `orgs o`.
pub(crate) const ORG_COLS: &str = "o.id AS org_id, o.name AS org_name, \
     o.created AS org_created, o.settings::text AS org_settings";

fn settings_json(settings: &OrgSettings) -> StoreResult<String> {
    serde_json::to_string(settings)
        .map_err(|e| StoreError::Backend(format!("cannot encode org settings: {e}")))
}

/// The `orgs` table for [`PgTx::lookup`].
const ORGS: Table = (ORG_COLS, "orgs o");

#[async_trait]
impl OrgStore for PgTx {
    async fn org_by_name(&mut self, name: &str) -> StoreResult<Option<Org>> {
        self.lookup(ORGS, "o.name", name, org_from_row).await
    }

    async fn org_by_id(&mut self, id: &OrgId) -> StoreResult<Option<Org>> {
        self.lookup(ORGS, "o.id", id, org_from_row).await
    }

    async fn insert_org(&mut self, org: &Org) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO orgs (id, name, created, settings) VALUES ($1, $2, $3, $4::jsonb)",
        );
        let q = q.bind(&org.id).bind(&org.name).bind(org.created);
        self.execute(q.bind(settings_json(&org.settings)?)).await
    }

    async fn update_org_settings(
        &mut self,
        org_id: &OrgId,
        settings: &OrgSettings,
    ) -> StoreResult<()> {
        let q = sqlx::query("UPDATE orgs SET settings = $1::jsonb WHERE id = $2");
        let q = q.bind(settings_json(settings)?).bind(org_id);
        self.execute_one(q, "org", org_id).await
    }

    async fn org_counts(&mut self, org_id: &OrgId) -> StoreResult<OrgCounts> {
        let q = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM memberships WHERE org_id = $1) AS members, \
                    (SELECT COUNT(*) FROM stacks WHERE org_id = $1) AS stacks",
        );
        self.fetch_one(q.bind(org_id), |row| {
            Ok(OrgCounts {
                members: get_count(row, "members")?,
                stacks: get_count(row, "stacks")?,
            })
        })
        .await
    }

    async fn list_orgs(&mut self) -> StoreResult<Vec<Org>> {
        let sql = format!("SELECT {ORG_COLS} FROM orgs o ORDER BY o.name");
        self.fetch_all(sqlx::query(&sql), org_from_row).await
    }
}
