//! Export: time and memory of a full CSV export, in a child process, and its breakdown.

use super::*;

/// A field of `/proc/self/status` in kB (0 where there is no procfs).
pub(crate) fn proc_status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Debug, Default)]
pub(crate) struct ExportRun {
    pub(crate) secs: f64,
    pub(crate) bytes: u64,
    pub(crate) rows: u64,
    pub(crate) rss_before_kb: u64,
    pub(crate) rss_peak_kb: u64,
    /// VmRSS when the first 100,000 rows had been streamed, and at the last chunk.
    rss_100k_kb: u64,
    pub(crate) rss_last_kb: u64,
    pub(crate) hwm_before_kb: u64,
    pub(crate) hwm_after_kb: u64,
}

impl ExportRun {
    fn line(&self, org: &str) -> String {
        format!(
            "AUDIT_EXPORT org={org} secs={:.3} bytes={} rows={} rss_before_kb={} rss_peak_kb={} rss_100k_kb={} rss_last_kb={} hwm_before_kb={} hwm_after_kb={}",
            self.secs,
            self.bytes,
            self.rows,
            self.rss_before_kb,
            self.rss_peak_kb,
            self.rss_100k_kb,
            self.rss_last_kb,
            self.hwm_before_kb,
            self.hwm_after_kb
        )
    }

    fn parse(line: &str) -> Option<(String, ExportRun)> {
        let rest = line.strip_prefix("AUDIT_EXPORT ")?;
        let mut org = String::new();
        let mut run = ExportRun::default();
        for kv in rest.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            match k {
                "org" => org = v.to_string(),
                "secs" => run.secs = v.parse().ok()?,
                "bytes" => run.bytes = v.parse().ok()?,
                "rows" => run.rows = v.parse().ok()?,
                "rss_before_kb" => run.rss_before_kb = v.parse().ok()?,
                "rss_peak_kb" => run.rss_peak_kb = v.parse().ok()?,
                "rss_100k_kb" => run.rss_100k_kb = v.parse().ok()?,
                "rss_last_kb" => run.rss_last_kb = v.parse().ok()?,
                "hwm_before_kb" => run.hwm_before_kb = v.parse().ok()?,
                "hwm_after_kb" => run.hwm_after_kb = v.parse().ok()?,
                _ => return None,
            }
        }
        Some((org, run))
    }
}

/// Streams a full CSV export of `org`, counting bytes and rows, sampling VmRSS per chunk.
pub(crate) async fn export_once(router: &Router, auth: &str, org: &str) -> ExportRun {
    let path = format!("/api/orgs/{org}/auditlogs/v2/export?format=csv");
    let mut run = ExportRun {
        rss_before_kb: proc_status_kb("VmRSS:"),
        hwm_before_kb: proc_status_kb("VmHWM:"),
        ..ExportRun::default()
    };
    run.rss_peak_kb = run.rss_before_kb;
    let started = Instant::now();
    let resp = router
        .clone()
        .oneshot(request(auth, &path))
        .await
        .expect("the router is infallible");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    let mut body = resp.into_body();
    let mut newlines = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("an export chunk");
        if let Some(data) = frame.data_ref() {
            run.bytes += data.len() as u64;
            newlines += data.iter().filter(|b| **b == b'\n').count() as u64;
        }
        let rss = proc_status_kb("VmRSS:");
        run.rss_peak_kb = run.rss_peak_kb.max(rss);
        if run.rss_100k_kb == 0 && newlines > 100_000 {
            run.rss_100k_kb = rss;
        }
        run.rss_last_kb = rss;
    }
    run.secs = started.elapsed().as_secs_f64();
    run.hwm_after_kb = proc_status_kb("VmHWM:");
    // Descriptions hold no line breaks: one line per event, plus the header.
    run.rows = newlines.saturating_sub(1);
    run
}

/// Child process: two exports of one org, one result line each on stdout.
pub(crate) fn export_child(org: &str) {
    let rt = runtime();
    rt.block_on(async {
        let (service, store) = open(&default_db()).await;
        let auth = admin_header(&service, &store).await;
        let router = stackgate_server::router(service);
        // Warm the token cache and the connections outside the measurement.
        page(
            &router,
            &auth,
            &format!("/api/orgs/{org}/auditlogs/v2?pageSize=1"),
        )
        .await;
        for _ in 0..2 {
            println!("{}", export_once(&router, &auth, org).await.line(org));
        }
        println!("{}", breakdown(&store, org).await);
    });
}

pub(crate) fn all_events(
    org_id: &stackgate_store::OrgId,
    before_seq: Option<i64>,
) -> stackgate_store::AuditQuery {
    stackgate_store::AuditQuery {
        org_id: org_id.clone(),
        before_seq,
        start_time: None,
        end_time: None,
        events: Vec::new(),
        user_login: None,
        token_id: None,
        limit: stackgate_core::service::EXPORT_BATCH,
    }
}

/// Where an export's time goes: reading every page through the store (SQL and row
/// decoding, as `AuditExport` does) and encoding the pages as CSV, each timed alone; then
/// a prototype of a faster export that reads pages ahead on `width` read connections
/// (pages cut by `seq` range, which a dense, unfiltered chain allows).
pub(crate) async fn breakdown(store: &SqliteStore, org: &str) -> String {
    let (org_id, head) = {
        let mut tx = store.read().await.expect("read");
        let org = tx.org_by_name(org).await.expect("org").expect("the org");
        let head = tx.audit_head(&org.id).await.expect("head");
        (org.id, head)
    };
    let mut query = all_events(&org_id, None);
    let (mut read, mut encode, mut events, mut bytes) =
        (Duration::ZERO, Duration::ZERO, 0usize, 0usize);
    loop {
        let t = Instant::now();
        let mut tx = store.read().await.expect("read");
        let page = tx.list_audit(&query).await.expect("a page");
        drop(tx);
        read += t.elapsed();
        let t = Instant::now();
        bytes += stackgate_http::export::csv_chunk(&page, false).len();
        encode += t.elapsed();
        events += page.len();
        match page.last() {
            Some(last) if page.len() == query.limit as usize => {
                query.before_seq = Some(last.link.seq);
            }
            _ => break,
        }
    }
    let mut out = format!(
        "AUDIT_BREAKDOWN org={org} events={events} bytes={bytes} read_secs={:.3} encode_secs={:.3}",
        read.as_secs_f64(),
        encode.as_secs_f64()
    );
    for width in [2, 4] {
        let batch = i64::from(stackgate_core::service::EXPORT_BATCH);
        let starts: Vec<i64> = (0..)
            .map(|k| head.seq + 1 - k * batch)
            .take_while(|before| *before > head.pruned_seq + 1)
            .collect();
        let t = Instant::now();
        let (n, b) = futures_util::stream::iter(starts)
            .map(|before| {
                let (store, org_id) = (store.clone(), org_id.clone());
                async move {
                    let mut tx = store.read().await.expect("read");
                    let page = tx
                        .list_audit(&all_events(&org_id, Some(before)))
                        .await
                        .expect("a page");
                    drop(tx);
                    (
                        page.len(),
                        stackgate_http::export::csv_chunk(&page, false).len(),
                    )
                }
            })
            .buffered(width)
            .fold((0, 0), |(n, b), (pn, pb)| async move { (n + pn, b + pb) })
            .await;
        assert_eq!((n, b), (events, bytes), "read-ahead by {width}");
        out.push_str(&format!(
            " readahead{width}_secs={:.3}",
            t.elapsed().as_secs_f64()
        ));
    }
    let t = Instant::now();
    let (n, b) = json_pages(store_path(), &org_id, head.seq).await;
    assert_eq!((n, b), (events, bytes), "JSON pages");
    out.push_str(&format!(" jsonpages_secs={:.3}", t.elapsed().as_secs_f64()));
    out
}

pub(crate) fn store_path() -> PathBuf {
    default_db()
}

/// One page as SQLite's `json_array` rows (the columns of `AuditEvent`, in order).
#[derive(serde::Deserialize)]
pub(crate) struct JsonRow(
    i64,
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    i64,
    String,
    String,
);

/// Prototype of a cheaper bulk read: SQLite aggregates each page of 2,000 events into one
/// JSON text (`json_group_array`), so the driver hands over one value per page instead of
/// 2,000 rows of 16 values; the page is parsed with serde and encoded as CSV as today.
pub(crate) async fn json_pages(
    db: PathBuf,
    org_id: &stackgate_store::OrgId,
    head_seq: i64,
) -> (usize, usize) {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("a raw read-only connection");
    let sql = "SELECT json_group_array(json_array(id, seq, timestamp, event, description, \
               user_login, user_name, user_email, token_id, token_name, source_ip, \
               req_org_admin, req_stack_admin, auth_failure, prev_hash, hash)) \
               FROM (SELECT * FROM audit_events WHERE org_id = ? AND seq < ? \
               ORDER BY seq DESC LIMIT ?)";
    let (mut events, mut bytes, mut before) = (0, 0, head_seq + 1);
    loop {
        let (json,): (String,) = sqlx::query_as(sql)
            .bind(org_id)
            .bind(before)
            .bind(i64::from(stackgate_core::service::EXPORT_BATCH))
            .fetch_one(&mut conn)
            .await
            .expect("a JSON page");
        let rows: Vec<JsonRow> = serde_json::from_str(&json).expect("parse a JSON page");
        let page: Vec<stackgate_store::AuditEvent> = rows
            .into_iter()
            .map(|r| stackgate_store::AuditEvent {
                id: r.0,
                event: NewAuditEvent {
                    org_id: org_id.clone(),
                    timestamp: r.2,
                    event: r.3,
                    description: r.4,
                    actor: AuditActor {
                        login: r.5,
                        name: r.6,
                        email: r.7,
                        token_id: r.8,
                        token_name: r.9,
                    },
                    source_ip: r.10,
                    req_org_admin: r.11 != 0,
                    req_stack_admin: r.12 != 0,
                    auth_failure: r.13 != 0,
                },
                link: stackgate_store::ChainLink {
                    seq: r.1,
                    prev_hash: r.14,
                    hash: r.15,
                },
            })
            .collect();
        bytes += stackgate_http::export::csv_chunk(&page, false).len();
        events += page.len();
        match page.last() {
            Some(last) if page.len() == stackgate_core::service::EXPORT_BATCH as usize => {
                before = last.link.seq;
            }
            _ => break,
        }
    }
    (events, bytes)
}

/// Runs [`export_child`] for `org` in a fresh process of this binary.
pub(crate) fn export_in_child(db: &Path, org: &str) -> (Vec<ExportRun>, String) {
    let exe = std::env::current_exe().expect("the benchmark binary");
    let out = std::process::Command::new(exe)
        .env(CHILD_ENV, org)
        .env(DB_ENV, db)
        .output()
        .expect("run the export child");
    assert!(
        out.status.success(),
        "export child for {org} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let runs = stdout
        .lines()
        .filter_map(ExportRun::parse)
        .map(|(_, run)| run)
        .collect();
    let breakdown = stdout
        .lines()
        .find_map(|l| l.strip_prefix("AUDIT_BREAKDOWN "))
        .unwrap_or("")
        .to_string();
    (runs, breakdown)
}

pub(crate) fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

pub(crate) type ChildRuns = (Vec<ExportRun>, String);

pub(crate) fn report_exports(fx: &Fixture, runs: &[(&str, i64, ChildRuns)]) {
    println!();
    println!("CSV export (each in a fresh process; two runs, the second with a warm page cache):");
    for (org, events, (list, breakdown)) in runs {
        for (i, r) in list.iter().enumerate() {
            // The export writes its own audit-log-exported event first: it is in the file.
            assert!(
                r.rows as i64 > *events + i as i64,
                "{org}: {} rows for {events} events",
                r.rows
            );
            println!(
                "  {org:>10} run {}: {:>9} rows {:>7.1} MiB in {:>6.2} s ({:>4.0} MiB/s) | RSS before {:>6.1} MiB, peak while streaming +{:>5.1} MiB, at row 100k {:>6.1} MiB, at the end {:>6.1} MiB, VmHWM {:>6.1} -> {:>6.1} MiB",
                i + 1,
                r.rows,
                mib(r.bytes / 1024),
                r.secs,
                mib(r.bytes / 1024) / r.secs,
                mib(r.rss_before_kb),
                mib(r.rss_peak_kb.saturating_sub(r.rss_before_kb)),
                mib(r.rss_100k_kb),
                mib(r.rss_last_kb),
                mib(r.hwm_before_kb),
                mib(r.hwm_after_kb),
            );
        }
        println!("  {org:>10} breakdown (store reads and CSV encoding timed alone): {breakdown}");
    }
    println!(
        "database: {} ({:.0} MiB)",
        fx.db.display(),
        file_mib(&fx.db)
    );
}

pub(crate) fn file_mib(p: &Path) -> f64 {
    std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1_048_576.0)
}
