//! `StackPermission` helpers of the store model: wire codes, `allows`, rank and max.

use stackgate_store::StackPermission as SP;

use crate::table::{lvl_of, Lvl};

// ---------------------------------------------------------------------------------------
// StackPermission helpers (model.rs)
// ---------------------------------------------------------------------------------------

#[test]
fn stack_permission_codes() {
    #[rustfmt::skip]
    let codes: [(SP, i64); 5] = [
        (SP::None, 0), (SP::Read, 101), (SP::Write, 102), (SP::Admin, 103), (SP::Creator, 104),
    ];
    for (p, code) in codes {
        assert_eq!(p.code(), code);
        assert_eq!(SP::from_code(code), Some(p));
        assert_eq!(i64::from(p), code);
        assert_eq!(SP::try_from(code), Ok(p));
        match serde_json::to_string(&p) {
            Ok(s) => assert_eq!(s, code.to_string()),
            Err(e) => panic!("serialize {p:?}: {e}"),
        }
        match serde_json::from_str::<SP>(&code.to_string()) {
            Ok(back) => assert_eq!(back, p),
            Err(e) => panic!("deserialize {code}: {e}"),
        }
    }
    for bad in [-1, 1, 100, 105, 200] {
        assert_eq!(SP::from_code(bad), None, "code {bad}");
        assert!(SP::try_from(bad).is_err(), "code {bad}");
        assert!(serde_json::from_str::<SP>(&bad.to_string()).is_err());
    }
}

#[test]
fn stack_permission_allows_table() {
    // Row `have`, column `needed`: None, Read, Write, Admin, Creator.
    // Creator counts as admin: creator allows admin, and admin allows creator.
    #[rustfmt::skip]
    let table: [(SP, [bool; 5]); 5] = [
        //              None   Read   Write  Admin  Creator
        (SP::None,    [true,  false, false, false, false]),
        (SP::Read,    [true,  true,  false, false, false]),
        (SP::Write,   [true,  true,  true,  false, false]),
        (SP::Admin,   [true,  true,  true,  true,  true ]),
        (SP::Creator, [true,  true,  true,  true,  true ]),
    ];
    for (have, row) in table {
        for (needed, want) in SP::ALL.into_iter().zip(row) {
            assert_eq!(have.allows(needed), want, "{have:?}.allows({needed:?})");
        }
    }
}

#[test]
fn stack_permission_rank_and_max() {
    // rank: explicit order, creator with admin.
    assert_eq!(SP::Admin.rank(), SP::Creator.rank());
    assert!(SP::None.rank() < SP::Read.rank());
    assert!(SP::Read.rank() < SP::Write.rank());
    assert!(SP::Write.rank() < SP::Admin.rank());

    // max, as effective levels (ties between admin and creator may return either).
    #[rustfmt::skip]
    let table: [(SP, [Lvl; 5]); 5] = [
        //              None        Read        Write       Admin       Creator
        (SP::None,    [Lvl::None,  Lvl::Read,  Lvl::Write, Lvl::Admin, Lvl::Admin]),
        (SP::Read,    [Lvl::Read,  Lvl::Read,  Lvl::Write, Lvl::Admin, Lvl::Admin]),
        (SP::Write,   [Lvl::Write, Lvl::Write, Lvl::Write, Lvl::Admin, Lvl::Admin]),
        (SP::Admin,   [Lvl::Admin, Lvl::Admin, Lvl::Admin, Lvl::Admin, Lvl::Admin]),
        (SP::Creator, [Lvl::Admin, Lvl::Admin, Lvl::Admin, Lvl::Admin, Lvl::Admin]),
    ];
    for (a, row) in table {
        for (b, want) in SP::ALL.into_iter().zip(row) {
            assert_eq!(lvl_of(a.max(b)), want, "{a:?}.max({b:?})");
            assert_eq!(lvl_of(b.max(a)), want, "{b:?}.max({a:?}) (symmetry)");
        }
    }
    // max never invents a level: it returns one of its arguments.
    for a in SP::ALL {
        for b in SP::ALL {
            let m = a.max(b);
            assert!(m == a || m == b, "{a:?}.max({b:?}) = {m:?}");
        }
    }
}
