//! The route table as the coverage tests see it. The sweep and the audit coverage keep
//! their cases in maps keyed by `(method, path template)`; [`assert_covers`] fails when
//! a route of the table has no case or a case names no route.

use std::collections::BTreeSet;

use super::{ORG, PROJECT, STACK, TEAM};

/// Every API route as `(method, path template)`, from the table the router is built from.
pub fn routes() -> BTreeSet<(String, &'static str)> {
    let list = stackgate_server::route_list();
    let set: BTreeSet<(String, &'static str)> =
        list.iter().map(|(m, p)| (m.to_string(), *p)).collect();
    assert_eq!(set.len(), list.len(), "the route table lists a route twice");
    set
}

/// Asserts that the keys of a coverage test's cases are exactly `routes`; `what` names a
/// case in the failure message.
#[track_caller]
pub fn assert_covers<'a>(
    routes: &BTreeSet<(String, &'static str)>,
    cases: impl IntoIterator<Item = (&'a str, &'a str)>,
    what: &str,
) {
    let covered: BTreeSet<(String, &str)> =
        cases.into_iter().map(|(m, p)| (m.to_string(), p)).collect();
    let routes: BTreeSet<(String, &str)> = routes.iter().map(|(m, p)| (m.clone(), *p)).collect();
    let missing: Vec<_> = routes.difference(&covered).collect();
    let unknown: Vec<_> = covered.difference(&routes).collect();
    assert!(missing.is_empty(), "routes without {what}: {missing:?}");
    assert!(unknown.is_empty(), "{what} for unknown routes: {unknown:?}");
}

/// Whether a concrete path (query string aside) is an instance of a route template.
pub fn matches(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// A concrete path for a template, on the fixture's org, stack and team (an update path
/// names [`UPDATE_ID`] and version 1; replace `{updateId}` first to name a real one).
pub fn concrete(template: &str) -> String {
    template
        .replace("{org}", ORG)
        .replace("{project}", PROJECT)
        .replace("{stack}", STACK)
        .replace("{team}", TEAM)
        .replace("{login}", "bob")
        .replace("{tokenId}", "0b5e4d0c-0000-4000-8000-000000000000")
        .replace("{tag}", "env")
        .replace("{kind}", "update")
        .replace("{updateId}", UPDATE_ID)
        .replace("{version}", "1")
}

/// The update id [`concrete`] puts in update paths: well-formed, but no update's.
pub const UPDATE_ID: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
