"""Stack transfer (single and bulk): who may, the order of refusals, what moves."""

from harness import (
    Api, Org, add_member, create_org_token, create_stack, create_team, create_team_token,
    events_named, expect_raw_status, expect_status, grant_team_stack, models, patch_settings,
    raw_request,
)


def _transfer(api, org, project, stack, to_org):
    api.stacks.transfer_stack(org, project, stack, models.TransferStackRequest(to_org=to_org))


def _accept_from(server, dest, source_org):
    r = raw_request(server.url, "PATCH", f"/api/orgs/{dest.name}", token=dest.admin_token,
                    body={"setAcceptStackTransfersFrom": [source_org]})
    assert r.status == 200, r.body


def _two_orgs_one_admin(new_org, server):
    src = new_org("src")
    dst_name = "dst-" + src.name.split("-", 1)[1]
    dst_token = server.init_org(dst_name, src.admin_login)
    return src, Org(dst_name, src.admin_login, dst_token, Api(server.url, dst_token))


def test_admin_user_transfers_a_stack(new_org, server):
    src, dst = _two_orgs_one_admin(new_org, server)
    create_stack(src.admin, src.name, "proj", "st", tags={"keep": "me"})
    create_team(src.admin, src.name, "srcteam")
    grant_team_stack(src.admin, src.name, "srcteam", "proj", "st", 102)

    _transfer(src.admin, src.name, "proj", "st", dst.name)

    moved = src.admin.stacks.get_stack(dst.name, "proj", "st")
    assert moved.org_name == dst.name
    assert (moved.tags or {}).get("keep") == "me", "tags stay"
    expect_status(404, src.admin.stacks.get_stack, src.name, "proj", "st")
    assert "srcteam" not in [t.name for t in
                             src.admin.stacks.list_stack_teams(dst.name, "proj", "st").teams]
    assert not (src.admin.orgs.get_team(src.name, "srcteam").stacks or []), \
        "the source org's team grants on the stack are dropped"
    for org in (src.name, dst.name):
        assert events_named(src.admin.audit_events(org), "stack-transferred-to-organization"), org


def test_transfer_of_missing_stack_is_404(new_org, server):
    src, dst = _two_orgs_one_admin(new_org, server)
    expect_status(404, _transfer, src.admin, src.name, "nope", "nope", dst.name)


def test_member_transfer_needs_setting_and_destination_membership(new_org, new_member, server):
    src, dst = new_org("src"), new_org("dst")
    member = new_member(src)
    create_stack(member.api, src.name, "mp", "ms")  # creator: stack admin
    # setting off (default) -> 403, even to a destination it cannot see
    expect_status(403, _transfer, member.api, src.name, "mp", "ms", dst.name)
    expect_status(403, _transfer, member.api, src.name, "mp", "ms", "ghost-" + dst.name)
    patch_settings(src.admin, src.name, set_members_can_transfer_stacks=True)
    # not a member of the destination -> 404 (hidden)
    expect_status(404, _transfer, member.api, src.name, "mp", "ms", dst.name)
    add_member(dst.admin, dst.name, member.login)
    _transfer(member.api, src.name, "mp", "ms", dst.name)
    assert dst.admin.stacks.get_stack(dst.name, "mp", "ms").stack_name == "ms"


def test_member_without_stack_admin_cannot_transfer(new_org, new_member):
    src, dst = new_org("src"), new_org("dst")
    member = new_member(src)
    add_member(dst.admin, dst.name, member.login)
    patch_settings(src.admin, src.name, set_members_can_transfer_stacks=True)
    create_stack(src.admin, src.name, "p", "s")  # member only has read (default 101)
    expect_status(403, _transfer, member.api, src.name, "p", "s", dst.name)


def test_member_scope_and_team_tokens_never_transfer(new_org, server, api_for):
    src, dst = _two_orgs_one_admin(new_org, server)
    create_stack(src.admin, src.name, "p", "s")
    create_team(src.admin, src.name, "t")
    grant_team_stack(src.admin, src.name, "t", "p", "s", 103)
    _accept_from(server, dst, src.name)
    o = api_for(create_org_token(src.admin, src.name, "xfer-o", admin=False).token_value)
    t = api_for(create_team_token(src.admin, src.name, "t", "xfer-t").token_value)
    expect_status(403, _transfer, o, src.name, "p", "s", dst.name)
    expect_status(403, _transfer, t, src.name, "p", "s", dst.name)
    assert events_named(src.admin.audit_events(src.name), "auth-failure-organization-role") or \
        events_named(src.admin.audit_events(src.name), "auth-failure-stack-permission")


def test_admin_scope_token_transfers_only_into_accepting_orgs(new_org, server, api_for):
    src, dst = new_org("src"), new_org("dst")
    create_stack(src.admin, src.name, "p", "s")
    a_tok = create_org_token(src.admin, src.name, "xfer-a", admin=True)
    a = api_for(a_tok.token_value)
    expect_status(404, _transfer, a, src.name, "p", "s", dst.name)
    _accept_from(server, dst, src.name)
    _transfer(a, src.name, "p", "s", dst.name)
    assert dst.admin.stacks.get_stack(dst.name, "p", "s").stack_name == "s"
    ev = events_named(src.admin.audit_events(src.name), "stack-transferred-to-organization")
    assert ev and ev[0].token_id == a_tok.id and ev[0].token_name == "xfer-a"


def test_transfer_to_unknown_org_is_404(new_org, server):
    src = new_org()
    create_stack(src.admin, src.name, "p", "s")
    expect_status(404, _transfer, src.admin, src.name, "p", "s", "ghost-" + src.name)


def test_bulk_transfer(new_org, server):
    src, dst = _two_orgs_one_admin(new_org, server)
    for name in ("a", "b", "c"):
        create_stack(src.admin, src.name, "bulk", name)
    src.admin.orgs.transfer_all_stacks(
        src.name, models.TransferAllStacksRequest(from_org=src.name, to_org=dst.name))
    got = sorted(s.stack_name for s in
                 src.admin.users.list_user_stacks(organization=dst.name).stacks)
    assert got == ["a", "b", "c"]
    assert src.admin.users.list_user_stacks(organization=src.name).stacks == []


def test_bulk_transfer_refused_for_members(new_org, new_member):
    src, dst = new_org("src"), new_org("dst")
    member = new_member(src)
    add_member(dst.admin, dst.name, member.login)
    create_stack(src.admin, src.name, "p", "s")
    expect_status(403, member.api.orgs.transfer_all_stacks, src.name,
                  models.TransferAllStacksRequest(from_org=src.name, to_org=dst.name))


def test_raw_transfer_error_body(new_org, server):
    src = new_org()
    r = raw_request(server.url, "POST", f"/api/stacks/{src.name}/p/missing/transfer",
                    token=src.admin_token, body={"toOrg": "whatever"})
    expect_raw_status(404, r)
