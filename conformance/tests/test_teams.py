"""Teams: create / list / get / update (every UpdateTeamRequest action) / delete."""

from harness import (
    create_org_token, create_stack, create_team, create_team_token, events_named, expect_status,
    grant_team_stack, models, patch_settings, remove_team_stack, team_member,
)


def _roles(team):
    return {m.github_login: m.role for m in (team.members or [])}


def test_create_list_get_team(new_org):
    org = new_org()
    t = create_team(org.admin, org.name, "platform", display="Platform Team", desc="infra folks")
    assert t.kind == "pulumi"
    assert t.name == "platform"
    assert t.display_name == "Platform Team"
    assert t.description == "infra folks"

    names = [x.name for x in org.admin.orgs.list_teams(org.name).teams]
    assert "platform" in names

    got = org.admin.orgs.get_team(org.name, "platform")
    assert (got.name, got.display_name, got.description) == ("platform", "Platform Team",
                                                             "infra folks")
    assert got.kind == "pulumi"
    ev = events_named(org.admin.audit_events(org.name), "team-created")
    assert any("platform" in e.description for e in ev)


def test_duplicate_team_is_409_and_bad_name_is_400(new_org):
    org = new_org()
    create_team(org.admin, org.name, "dup")
    expect_status(409, create_team, org.admin, org.name, "dup")
    for bad in ("has space", "..", ".", "x" * 101, "semi;colon", ""):
        expect_status(400, create_team, org.admin, org.name, bad)


def test_unknown_team_is_404(new_org):
    org = new_org()
    expect_status(404, org.admin.orgs.get_team, org.name, "ghost")
    expect_status(404, org.admin.orgs.update_team, org.name, "ghost",
                  models.UpdateTeamRequest(new_description="x"))
    expect_status(404, org.admin.orgs.delete_team, org.name, "ghost")


def test_rename_display_and_description(new_org):
    org = new_org()
    create_team(org.admin, org.name, "t")
    org.admin.orgs.update_team(org.name, "t", models.UpdateTeamRequest(new_display_name="New Name"))
    got = org.admin.orgs.get_team(org.name, "t")
    assert got.display_name == "New Name"
    org.admin.orgs.update_team(org.name, "t", models.UpdateTeamRequest(new_description="New desc"))
    got = org.admin.orgs.get_team(org.name, "t")
    assert (got.display_name, got.description) == ("New Name", "New desc")
    assert events_named(org.admin.audit_events(org.name), "team-updated")


def test_member_actions_add_promote_demote_remove(new_org, new_member):
    org = new_org()
    u = new_member(org)
    create_team(org.admin, org.name, "crew")
    team_member(org.admin, org.name, "crew", "add", u.login)
    assert _roles(org.admin.orgs.get_team(org.name, "crew"))[u.login] == "member"
    team_member(org.admin, org.name, "crew", "promote", u.login)
    assert _roles(org.admin.orgs.get_team(org.name, "crew"))[u.login] == "admin"
    team_member(org.admin, org.name, "crew", "demote", u.login)
    assert _roles(org.admin.orgs.get_team(org.name, "crew"))[u.login] == "member"
    assert "crew" in (org.admin.orgs.get_organization_member_teams(org.name, u.login).teams or [])
    team_member(org.admin, org.name, "crew", "remove", u.login)
    assert u.login not in _roles(org.admin.orgs.get_team(org.name, "crew"))
    descs = [e.description for e in events_named(org.admin.audit_events(org.name), "team-updated")]
    assert sum(u.login in d for d in descs) >= 4, descs


def test_adding_a_non_member_of_the_org_fails(new_org, new_user):
    org = new_org()
    outsider = new_user()
    create_team(org.admin, org.name, "crew")
    code = None
    try:
        team_member(org.admin, org.name, "crew", "add", outsider.login)
    except Exception as e:  # urllib HTTPError
        code = getattr(e, "code", None)
    assert code in (400, 404), f"adding a non-member to a team answered {code}"


def test_stack_permission_actions(new_org):
    org = new_org()
    create_team(org.admin, org.name, "devs")
    create_stack(org.admin, org.name, "app", "dev")
    grant_team_stack(org.admin, org.name, "devs", "app", "dev", 101)
    stacks = {(s.project_name, s.stack_name): s.permission
              for s in org.admin.orgs.get_team(org.name, "devs").stacks or []}
    assert stacks[("app", "dev")] == 101
    by_stack = {t.name: t for t in org.admin.stacks.list_stack_teams(org.name, "app", "dev").teams}
    assert by_stack["devs"].permission == 101

    grant_team_stack(org.admin, org.name, "devs", "app", "dev", 102, edit=True)
    stacks = {(s.project_name, s.stack_name): s.permission
              for s in org.admin.orgs.get_team(org.name, "devs").stacks or []}
    assert stacks[("app", "dev")] == 102

    remove_team_stack(org.admin, org.name, "devs", "app", "dev")
    assert not [s for s in org.admin.orgs.get_team(org.name, "devs").stacks or []
                if (s.project_name, s.stack_name) == ("app", "dev")]
    assert "devs" not in [t.name for t in
                          org.admin.stacks.list_stack_teams(org.name, "app", "dev").teams]


def test_grant_on_unknown_stack_is_404(new_org):
    org = new_org()
    create_team(org.admin, org.name, "devs")
    expect_status(404, grant_team_stack, org.admin, org.name, "devs", "nope", "nope", 101)


def test_member_creates_team_and_becomes_its_admin(new_org, new_member):
    org = new_org()
    creator, other, plain = new_member(org), new_member(org), new_member(org)
    t = create_team(creator.api, org.name, "mine")
    assert t.name == "mine"
    assert _roles(org.admin.orgs.get_team(org.name, "mine")).get(creator.login) == "admin"
    # the team admin manages membership...
    team_member(creator.api, org.name, "mine", "add", other.login)
    team_member(creator.api, org.name, "mine", "add", plain.login)
    # ...a plain team member does not
    expect_status(403, team_member, other.api, org.name, "mine", "remove", plain.login)
    # nobody but admins grants stack access
    create_stack(org.admin, org.name, "p", "s")
    expect_status(403, grant_team_stack, creator.api, org.name, "mine", "p", "s", 101)
    # team admin may create team tokens, a plain member may not
    tok = create_team_token(creator.api, org.name, "mine", "mine-tok")
    assert tok.id
    expect_status(403, other.api.orgs.create_team_token, org.name, "mine",
                  models.CreateTeamAccessTokenRequest(name="x-tok", description="", expires=0))


def test_members_cannot_create_teams_when_disabled(new_org, new_member):
    org = new_org()
    member = new_member(org)
    patch_settings(org.admin, org.name, set_members_can_create_teams=False)
    expect_status(403, create_team, member.api, org.name, "nope")
    create_team(org.admin, org.name, "yes")
    patch_settings(org.admin, org.name, set_members_can_create_teams=True)
    create_team(member.api, org.name, "now-ok")


def test_delete_team_removes_it_and_its_tokens(new_org, api_for):
    org = new_org()
    create_team(org.admin, org.name, "gone")
    tok = create_team_token(org.admin, org.name, "gone", "gone-tok")
    api_for(tok.token_value).orgs.list_teams(org.name)
    org.admin.orgs.delete_team(org.name, "gone")
    expect_status(404, org.admin.orgs.get_team, org.name, "gone")
    assert "gone" not in [t.name for t in org.admin.orgs.list_teams(org.name).teams]
    expect_status(401, api_for(tok.token_value).orgs.list_teams, org.name)
    assert events_named(org.admin.audit_events(org.name), "team-deleted")


def test_admin_scope_token_team_membership_and_stacks(new_org, new_member, api_for):
    org = new_org()
    u = new_member(org)
    create_team(org.admin, org.name, "ops")
    create_stack(org.admin, org.name, "svc", "prod")
    a = api_for(create_org_token(org.admin, org.name, "team-a", admin=True).token_value)
    o = api_for(create_org_token(org.admin, org.name, "team-o", admin=False).token_value)

    # member scope: every membership / stack-grant change is 403
    for action in ("add", "remove", "promote", "demote"):
        expect_status(403, team_member, o, org.name, "ops", action, u.login)
    expect_status(403, grant_team_stack, o, org.name, "ops", "svc", "prod", 101)
    expect_status(403, remove_team_stack, o, org.name, "ops", "svc", "prod")
    # but it can read teams
    assert "ops" in [t.name for t in o.orgs.list_teams(org.name).teams]
    assert o.orgs.get_team(org.name, "ops").name == "ops"

    # admin scope: all of them work
    team_member(a, org.name, "ops", "add", u.login)
    team_member(a, org.name, "ops", "promote", u.login)
    assert _roles(org.admin.orgs.get_team(org.name, "ops"))[u.login] == "admin"
    team_member(a, org.name, "ops", "demote", u.login)
    assert _roles(org.admin.orgs.get_team(org.name, "ops"))[u.login] == "member"
    grant_team_stack(a, org.name, "ops", "svc", "prod", 102)
    assert [s.permission for s in org.admin.orgs.get_team(org.name, "ops").stacks or []] == [102]
    remove_team_stack(a, org.name, "ops", "svc", "prod")
    assert not org.admin.orgs.get_team(org.name, "ops").stacks
    team_member(a, org.name, "ops", "remove", u.login)
    assert u.login not in _roles(org.admin.orgs.get_team(org.name, "ops"))


def test_member_stack_permissions_explain_a_level(new_org, new_member):
    org = new_org()
    dev = new_member(org)
    create_team(org.admin, org.name, "writers")
    team_member(org.admin, org.name, "writers", "add", dev.login)
    create_stack(org.admin, org.name, "app", "prod")
    grant_team_stack(org.admin, org.name, "writers", "app", "prod", 102)

    # The stack's creator (an admin) asks about the member.
    p = org.admin.stacks.list_member_stack_permissions(org.name, dev.login, "app", "prod")
    assert p.user_info.github_login == dev.login
    assert p.organization_role == "member"
    assert p.organization_default == 101
    assert [(t.team.name, t.permission) for t in p.team_permissions] == [("writers", 102)]
    assert p.explicit_permission == 0
    mine = org.admin.stacks.list_member_stack_permissions(org.name, org.admin_login, "app", "prod")
    assert mine.explicit_permission == 104

    # A member may ask about themselves, not about others (that takes stack admin).
    own = dev.api.stacks.list_member_stack_permissions(org.name, dev.login, "app", "prod")
    assert own.team_permissions[0].permission == 102
    expect_status(403, dev.api.stacks.list_member_stack_permissions,
                  org.name, org.admin_login, "app", "prod")
