"""Org tokens (member vs admin scope) and team tokens: lifecycle, names, permissions."""

from harness import (
    create_org_token, create_stack, create_team, create_team_token, events_named, expect_status,
    grant_team_stack, models, now, patch_settings,
)


def _ids(listing):
    return {t.id: t for t in listing.tokens}


def test_org_token_lifecycle(new_org, api_for):
    org = new_org()
    m = create_org_token(org.admin, org.name, "ci-member", admin=False, description="ci")
    a = create_org_token(org.admin, org.name, "ci-admin", admin=True, expires=now() + 3600)
    listing = _ids(org.admin.orgs.list_org_tokens(org.name))
    assert listing[m.id].name == "ci-member" and listing[m.id].admin is False
    assert listing[m.id].description == "ci"
    assert listing[a.id].name == "ci-admin" and listing[a.id].admin is True
    assert listing[a.id].expires > now()
    for t in (listing[m.id], listing[a.id]):
        assert isinstance(t.created, str) and t.created
        assert isinstance(t.created_by, str)
        if t.type is not None:
            assert t.type == "organization"

    api_for(m.token_value).orgs.list_teams(org.name)
    org.admin.orgs.delete_org_token(org.name, m.id)
    expect_status(401, api_for(m.token_value).orgs.list_teams, org.name)
    assert m.id not in _ids(org.admin.orgs.list_org_tokens(org.name))
    expect_status(404, org.admin.orgs.delete_org_token, org.name, m.id)

    evs = org.admin.audit_events(org.name)
    assert any("ci-member" in e.description for e in events_named(evs, "organization-token-created"))
    assert events_named(evs, "organization-token-deleted")


def test_team_token_lifecycle(new_org, api_for):
    org = new_org()
    create_team(org.admin, org.name, "build")
    t = create_team_token(org.admin, org.name, "build", "build-bot")
    listing = _ids(org.admin.orgs.list_team_tokens(org.name, "build"))
    assert listing[t.id].name == "build-bot"
    assert listing[t.id].admin is False
    if listing[t.id].type is not None:
        assert listing[t.id].type == "team"
    assert t.id not in _ids(org.admin.orgs.list_org_tokens(org.name))

    api = api_for(t.token_value)
    assert "build" in [x.name for x in api.orgs.list_teams(org.name).teams]
    org.admin.orgs.delete_team_token(org.name, "build", t.id)
    expect_status(401, api.orgs.list_teams, org.name)
    assert t.id not in _ids(org.admin.orgs.list_team_tokens(org.name, "build"))
    evs = org.admin.audit_events(org.name)
    assert events_named(evs, "team-token-created") and events_named(evs, "team-token-deleted")


def test_token_name_rules(new_org):
    org = new_org()
    create_team(org.admin, org.name, "t")
    for bad in ("", "has.dot", "has space", "x" * 41, "slash/no"):
        expect_status(400, org.admin.orgs.create_org_token, org.name,
                      models.CreateOrgAccessTokenRequest(name=bad, description="", expires=0,
                                                         admin=False))
        expect_status(400, org.admin.orgs.create_team_token, org.name, "t",
                      models.CreateTeamAccessTokenRequest(name=bad, description="", expires=0))
    create_org_token(org.admin, org.name, "A_z-0" + "x" * 35, admin=False)  # 40 chars is fine


def test_token_names_unique_across_org_and_team_tokens_including_deleted(new_org):
    org = new_org()
    create_team(org.admin, org.name, "t")
    first = create_org_token(org.admin, org.name, "shared", admin=False)
    expect_status(409, create_org_token, org.admin, org.name, "shared", False)
    expect_status(409, create_team_token, org.admin, org.name, "t", "shared")
    org.admin.orgs.delete_org_token(org.name, first.id)
    expect_status(409, create_org_token, org.admin, org.name, "shared", False)

    create_team_token(org.admin, org.name, "t", "teamname")
    expect_status(409, create_org_token, org.admin, org.name, "teamname", True)


def test_token_expiry_rules_for_org_and_team_tokens(new_org):
    org = new_org()
    create_team(org.admin, org.name, "t")
    for expires in (now() - 10, now() + 731 * 86400):
        expect_status(400, org.admin.orgs.create_org_token, org.name,
                      models.CreateOrgAccessTokenRequest(name="exp", description="",
                                                         expires=expires, admin=False))
        expect_status(400, org.admin.orgs.create_team_token, org.name, "t",
                      models.CreateTeamAccessTokenRequest(name="exp-t", description="",
                                                          expires=expires))


def test_admin_scope_token_cannot_create_or_delete_org_tokens(new_org, api_for):
    org = new_org()
    victim = create_org_token(org.admin, org.name, "victim", admin=False)
    a_tok = create_org_token(org.admin, org.name, "adm", admin=True)
    a = api_for(a_tok.token_value)
    # it may list them
    assert victim.id in _ids(a.orgs.list_org_tokens(org.name))
    expect_status(403, a.orgs.create_org_token, org.name,
                  models.CreateOrgAccessTokenRequest(name="by-token", description="", expires=0,
                                                     admin=False))
    expect_status(403, a.orgs.delete_org_token, org.name, victim.id)
    expect_status(403, a.orgs.delete_org_token, org.name, a_tok.id)
    # victim still works
    api_for(victim.token_value).orgs.list_teams(org.name)


def test_admin_scope_token_manages_team_tokens(new_org, api_for):
    org = new_org()
    create_team(org.admin, org.name, "t")
    a = api_for(create_org_token(org.admin, org.name, "tt-a", admin=True).token_value)
    tok = create_team_token(a, org.name, "t", "made-by-admin-token")
    assert tok.id in _ids(a.orgs.list_team_tokens(org.name, "t"))
    a.orgs.delete_team_token(org.name, "t", tok.id)
    expect_status(401, api_for(tok.token_value).orgs.list_teams, org.name)


def test_member_scope_token_refusals(new_org, api_for):
    org = new_org()
    create_team(org.admin, org.name, "t")
    existing = create_team_token(org.admin, org.name, "t", "existing")
    other_org_tok = create_org_token(org.admin, org.name, "other", admin=False)
    o = api_for(create_org_token(org.admin, org.name, "mscope", admin=False).token_value)
    expect_status(403, o.orgs.list_org_tokens, org.name)
    expect_status(403, o.orgs.create_org_token, org.name,
                  models.CreateOrgAccessTokenRequest(name="nope", description="", expires=0,
                                                     admin=False))
    expect_status(403, o.orgs.delete_org_token, org.name, other_org_tok.id)
    expect_status(403, o.orgs.list_team_tokens, org.name, "t")
    expect_status(403, o.orgs.create_team_token, org.name, "t",
                  models.CreateTeamAccessTokenRequest(name="nope2", description="", expires=0))
    expect_status(403, o.orgs.delete_team_token, org.name, "t", existing.id)
    expect_status(403, o.orgs.list_audit_log_events_handler_v2, org.name)
    # and what it may do: read members and teams
    assert o.orgs.list_organization_members(org.name).members
    assert "t" in [x.name for x in o.orgs.list_teams(org.name).teams]


def test_member_user_cannot_touch_org_tokens(new_org, new_member):
    org = new_org()
    member = new_member(org)
    tok = create_org_token(org.admin, org.name, "x", admin=False)
    expect_status(403, member.api.orgs.list_org_tokens, org.name)
    expect_status(403, member.api.orgs.create_org_token, org.name,
                  models.CreateOrgAccessTokenRequest(name="m", description="", expires=0,
                                                     admin=False))
    expect_status(403, member.api.orgs.delete_org_token, org.name, tok.id)


def test_team_token_acts_as_its_team(new_org, api_for):
    org = new_org()
    create_team(org.admin, org.name, "readers")
    create_stack(org.admin, org.name, "web", "prod", tags={"k": "v"})
    create_stack(org.admin, org.name, "web", "hidden")
    grant_team_stack(org.admin, org.name, "readers", "web", "prod", 101)
    patch_settings(org.admin, org.name, set_default_stack_permission=models.StackPermission.None_)
    t = api_for(create_team_token(org.admin, org.name, "readers", "reader-bot").token_value)

    assert t.stacks.get_stack(org.name, "web", "prod").stack_name == "prod"
    expect_status(404, t.stacks.get_stack, org.name, "web", "hidden")
    # read-only team writing tags: visible but forbidden
    expect_status(403, t.stacks.update_stack_tags, org.name, "web", "prod", {"k": "w"})
    expect_status(403, t.stacks.delete_stack, org.name, "web", "prod")
    # team tokens never create stacks
    expect_status(403, t.orgs.create_stack, org.name, "web",
                  models.AppCreateStackRequest(stack_name="new"))
    # it can read members and teams
    assert t.orgs.list_organization_members(org.name).members
    assert t.orgs.get_team(org.name, "readers").name == "readers"

    grant_team_stack(org.admin, org.name, "readers", "web", "prod", 102, edit=True)
    t.stacks.update_stack_tags(org.name, "web", "prod", {"k": "w"})
    assert org.admin.stacks.get_stack(org.name, "web", "prod").tags.get("k") == "w"
    expect_status(403, t.stacks.delete_stack, org.name, "web", "prod")
    grant_team_stack(org.admin, org.name, "readers", "web", "prod", 103, edit=True)
    t.stacks.delete_stack(org.name, "web", "prod")
    expect_status(404, org.admin.stacks.get_stack, org.name, "web", "prod")
