//! A throw-away schema per test, so that tests run in parallel on one database.
//!
//! The database comes from `STACKGATE_TEST_POSTGRES_URL`; when it is not set every test
//! prints why it is skipped and passes. Each test gets a fresh schema
//! `sg_test_<uuid>`, created on a plain connection; stores connect with it as their
//! `search_path` (through [`PostgresStore::url_with_schema`]), so the migrations create
//! every table inside it. Dropping the [`TestSchema`] drops the schema, also when the
//! test panicked (best effort: a failure there is printed, not raised).
//!
//! Every connection a test opens carries the schema name as its `application_name`, so
//! the drop can end them first: a pool's last connections are returned (and their
//! transactions rolled back) by tasks of the test's runtime, which may not have run
//! when the test returns, and an open transaction would block `DROP SCHEMA`.

use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Connection, Executor};
use stackgate_store_postgres::PostgresStore;

pub const URL_VAR: &str = "STACKGATE_TEST_POSTGRES_URL";

pub struct TestSchema {
    /// The database URL as given, without a schema.
    pub base_url: String,
    pub schema: String,
}

impl TestSchema {
    /// A created, empty schema; `None` (after saying so) when no database is configured.
    pub async fn create(test: &str) -> Option<TestSchema> {
        let db = Self::reserve(test)?;
        let mut conn = db.plain().await;
        conn.execute(format!("CREATE SCHEMA {}", db.schema).as_str())
            .await
            .expect("create the test schema");
        conn.close().await.expect("close");
        Some(db)
    }

    /// A unique schema name that is dropped at the end, but not created.
    pub fn reserve(test: &str) -> Option<TestSchema> {
        let base_url = match std::env::var(URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ => {
                println!("skipped {test}: {URL_VAR} is not set");
                return None;
            }
        };
        let schema = format!("sg_test_{}", uuid::Uuid::new_v4().simple());
        Some(TestSchema { base_url, schema })
    }

    /// The database URL without a schema, tagged with this test's `application_name`.
    pub fn tagged_base_url(&self) -> String {
        let separator = if self.base_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}application_name={}",
            self.base_url, self.schema
        )
    }

    /// The URL that points a store (or a server process) at this schema.
    pub fn url(&self) -> String {
        PostgresStore::url_with_schema(&self.tagged_base_url(), &self.schema).expect("schema url")
    }

    /// A new store on the schema: each call is a separate pool, like another replica.
    pub async fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.url())
            .await
            .expect("connect the store")
    }

    /// A plain pool inside the schema, to look at or damage rows directly.
    pub async fn raw(&self) -> PgPool {
        PgPool::connect(&self.url()).await.expect("raw connect")
    }

    async fn plain(&self) -> PgConnection {
        PgConnection::connect(&self.base_url)
            .await
            .unwrap_or_else(|e| panic!("connect to {URL_VAR}: {e}"))
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: do the async
        // work on a thread with a runtime of its own. The test's sessions are ended first;
        // a lock timeout keeps anything else from hanging the drop.
        let base_url = self.base_url.clone();
        let schema = self.schema.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&base_url)
                    .await
                    .map_err(|e| e.to_string())?;
                conn.execute("SET lock_timeout = '5s'")
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = $1 AND pid <> pg_backend_pid()",
                )
                .bind(&schema)
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
                conn.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                conn.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test schema {}: {e}", self.schema),
            Err(_) => eprintln!(
                "could not drop test schema {}: thread panicked",
                self.schema
            ),
        }
    }
}
