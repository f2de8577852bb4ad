//! Synthetic events: a deterministic mix of ids, users and tokens.

use super::*;

pub(crate) fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn token_id(kind: u64, n: u64) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

/// The event at `seq` of `org`: deterministic, so a resumed fill writes the same log.
pub(crate) fn synthetic(org_id: &stackgate_store::OrgId, org: &str, seq: i64) -> NewAuditEvent {
    let r = splitmix(seq.unsigned_abs() ^ 0xA0D1_7000);
    let pick = r % 10_000;
    let mut acc = 0;
    let mut id = MIX[0].0;
    for (e, w) in MIX {
        acc += w;
        if pick < acc {
            id = e;
            break;
        }
    }
    let info = EventType::from_id(id)
        .expect("every id of MIX is in the catalogue")
        .info();
    let who = (r >> 14) % 100;
    let actor = if who < 70 {
        let u = (r >> 21) % 8;
        let (login, name) = USERS[u as usize];
        AuditActor {
            login: login.into(),
            name: name.into(),
            email: format!("{login}@example.com"),
            token_id: Some(token_id(u + 1, (r >> 24) % 2)),
            token_name: Some(String::new()),
        }
    } else if who < 90 {
        let t = (r >> 21) % 3;
        AuditActor {
            login: org.into(),
            name: org.into(),
            email: String::new(),
            token_id: Some(token_id(0x100, t)),
            token_name: Some(ORG_TOKENS[t as usize].into()),
        }
    } else {
        let t = (r >> 21) % 2;
        let (team, display, name) = TEAM_TOKENS[t as usize];
        AuditActor {
            login: team.into(),
            name: display.into(),
            email: String::new(),
            token_id: Some(token_id(0x200, t)),
            token_name: Some(name.into()),
        }
    };
    let description = format!(
        "{}: stack '{org}/proj-{:02}/stack-{:03}' by {} (change {seq})",
        info.display_name,
        (r >> 32) % 40,
        (r >> 40) % 500,
        actor.login
    );
    NewAuditEvent {
        org_id: org_id.clone(),
        timestamp: BASE_TS + 30 * seq,
        event: id.to_string(),
        description,
        actor,
        source_ip: format!(
            "10.{}.{}.{}",
            (r >> 48) % 4,
            (r >> 50) % 256,
            (r >> 58) % 60 + 1
        ),
        req_org_admin: info.requires_org_admin,
        req_stack_admin: info.requires_stack_admin,
        auth_failure: info.authentication_failure,
    }
}
