//! The `stacks` and `stack_tags` tables.
//!
//! A stack read always comes with its org name (joined from `orgs o`) and its tags,
//! folded into one JSON object per row by a correlated `json_object_agg` subquery, so
//! a listing is one query whatever its length.

use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder};
use stackgate_store::{OrgId, Stack, StackFilter, StackId, StackStore, StoreResult, Tags};
use stackgate_store_sql::{get, stack_from_row};

use crate::tx::PgTx;

/// Stack columns under `stack_*` aliases; the query must join `stacks s` and `orgs o`.
pub(crate) const STACK_COLS: &str = "s.id AS stack_id, s.org_id AS stack_org_id, \
     o.name AS stack_org_name, s.project AS stack_project, s.name AS stack_name, \
     s.creator_user_id AS stack_creator_user_id, s.creator_token_id AS stack_creator_token_id, \
     s.created AS stack_created, s.version AS stack_version, \
     s.last_update AS stack_last_update, s.resource_count AS stack_resource_count, \
     (SELECT json_object_agg(tg.name, tg.value)::text FROM stack_tags tg \
      WHERE tg.stack_id = s.id) AS stack_tags";

/// The listing order and keyset of stacks.
const STACK_ORDER: &str = " ORDER BY o.name, s.project, s.name";

#[async_trait]
impl StackStore for PgTx {
    async fn stack(
        &mut self,
        org_id: &OrgId,
        project: &str,
        name: &str,
    ) -> StoreResult<Option<Stack>> {
        let sql = format!(
            "SELECT {STACK_COLS} FROM stacks s JOIN orgs o ON o.id = s.org_id \
             WHERE s.org_id = $1 AND s.project = $2 AND s.name = $3"
        );
        let q = sqlx::query(&sql).bind(org_id).bind(project).bind(name);
        self.fetch_optional(q, stack_from_row).await
    }

    async fn project_exists(&mut self, org_id: &OrgId, project: &str) -> StoreResult<bool> {
        let q = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM stacks WHERE org_id = $1 AND project = $2) AS found",
        );
        let q = q.bind(org_id).bind(project);
        self.fetch_one(q, |row| get(row, "found")).await
    }

    /// Inserts the stack and the tags it carries; `org_name` is ignored.
    async fn insert_stack(&mut self, stack: &Stack) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO stacks (id, org_id, project, name, creator_user_id, creator_token_id, \
             created, version, last_update, resource_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        );
        let q = q.bind(&stack.id).bind(&stack.org_id).bind(&stack.project);
        let q = q.bind(&stack.name).bind(&stack.creator_user_id);
        let q = q.bind(&stack.creator_token_id).bind(stack.created);
        let q = q.bind(stack.version).bind(stack.last_update);
        self.execute(q.bind(stack.resource_count)).await?;
        self.insert_tags(&stack.id, &stack.tags).await
    }

    /// Deletes the stack; its tags and team grants go with it (ON DELETE CASCADE).
    async fn delete_stack(&mut self, stack_id: &StackId) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM stacks WHERE id = $1").bind(stack_id);
        self.execute_one(q, "stack", stack_id).await
    }

    /// Replaces every tag of the stack.
    async fn set_stack_tags(&mut self, stack_id: &StackId, tags: &Tags) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM stack_tags WHERE stack_id = $1");
        self.execute(q.bind(stack_id)).await?;
        self.insert_tags(stack_id, tags).await
    }

    /// Re-homes the stack and drops every team grant on it: teams belong to the old org.
    async fn move_stack(&mut self, stack_id: &StackId, to_org_id: &OrgId) -> StoreResult<()> {
        let q = sqlx::query("UPDATE stacks SET org_id = $1 WHERE id = $2");
        let q = q.bind(to_org_id).bind(stack_id);
        self.execute_one(q, "stack", stack_id).await?;
        let q = sqlx::query("DELETE FROM team_stacks WHERE stack_id = $1");
        self.execute(q.bind(stack_id)).await
    }

    async fn rename_stack(
        &mut self,
        stack_id: &StackId,
        project: &str,
        name: &str,
    ) -> StoreResult<()> {
        let q = sqlx::query("UPDATE stacks SET project = $1, name = $2 WHERE id = $3");
        let q = q.bind(project).bind(name).bind(stack_id);
        self.execute_one(q, "stack", stack_id).await
    }

    async fn list_stacks(&mut self, filter: &StackFilter) -> StoreResult<Vec<Stack>> {
        if filter.org_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
            "SELECT {STACK_COLS} FROM stacks s JOIN orgs o ON o.id = s.org_id WHERE s.org_id IN ("
        ));
        let mut ids = q.separated(", ");
        for id in &filter.org_ids {
            ids.push_bind(id.as_str());
        }
        q.push(")");
        if let Some(project) = &filter.project {
            q.push(" AND s.project = ").push_bind(project.as_str());
        }
        match (&filter.tag_name, &filter.tag_value) {
            (None, None) => {}
            (name, value) => {
                q.push(" AND EXISTS (SELECT 1 FROM stack_tags ft WHERE ft.stack_id = s.id");
                if let Some(name) = name {
                    q.push(" AND ft.name = ").push_bind(name.as_str());
                }
                if let Some(value) = value {
                    q.push(" AND ft.value = ").push_bind(value.as_str());
                }
                q.push(")");
            }
        }
        if let Some((org, project, name)) = &filter.after {
            q.push(" AND (o.name, s.project, s.name) > (")
                .push_bind(org.as_str())
                .push(", ")
                .push_bind(project.as_str())
                .push(", ")
                .push_bind(name.as_str())
                .push(")");
        }
        q.push(STACK_ORDER)
            .push(" LIMIT ")
            .push_bind(i64::from(filter.limit));
        self.fetch_all(q.build(), stack_from_row).await
    }

    async fn org_stacks(&mut self, org_id: &OrgId) -> StoreResult<Vec<Stack>> {
        let sql = format!(
            "SELECT {STACK_COLS} FROM stacks s JOIN orgs o ON o.id = s.org_id \
             WHERE s.org_id = $1{STACK_ORDER}"
        );
        self.list_by(&sql, org_id, stack_from_row).await
    }
}

impl PgTx {
    async fn insert_tags(&mut self, stack_id: &StackId, tags: &Tags) -> StoreResult<()> {
        for (name, value) in tags {
            let q =
                sqlx::query("INSERT INTO stack_tags (stack_id, name, value) VALUES ($1, $2, $3)");
            self.execute(q.bind(stack_id).bind(name).bind(value))
                .await?;
        }
        Ok(())
    }
}
