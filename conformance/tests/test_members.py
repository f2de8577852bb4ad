"""Org members: list / add / change role / remove, a member's teams, who may do it."""

from harness import (
    add_member, create_org_token, create_team, events_named, expect_status, models, team_member,
)


def _members(api, org):
    return {m.user.github_login: m for m in api.orgs.list_organization_members(org).members}


def test_admin_is_listed_as_admin(new_org):
    org = new_org()
    members = _members(org.admin, org.name)
    assert org.admin_login in members
    m = members[org.admin_login]
    assert m.role == "admin"
    assert m.created is not None  # a datetime in the SDK model
    assert m.fga_role is not None  # required by the SDK model


def test_add_change_role_remove_member(new_org, new_user):
    org = new_org()
    u = new_user(email=None)
    added = add_member(org.admin, org.name, u.login)
    assert added.role == "member"
    assert added.user.github_login == u.login

    assert _members(org.admin, org.name)[u.login].role == "member"
    assert {o.github_login: o.role for o in u.api.users.get_current_user().organizations}[
        org.name] == "member"

    org.admin.orgs.update_organization_member(
        org.name, u.login, models.UpdateOrganizationMemberRequest(role=models.OrganizationRole.Admin))
    assert _members(org.admin, org.name)[u.login].role == "admin"
    org.admin.orgs.update_organization_member(
        org.name, u.login, models.UpdateOrganizationMemberRequest(role=models.OrganizationRole.Member))
    assert _members(org.admin, org.name)[u.login].role == "member"

    org.admin.orgs.delete_organization_member(org.name, u.login)
    assert u.login not in _members(org.admin, org.name)

    names = [e.event for e in org.admin.audit_events(org.name)]
    for ev in ("member-added", "member-role-changed", "member-removed"):
        assert ev in names
    added_ev = events_named(org.admin.audit_events(org.name), "member-added")
    assert any(u.login in e.description for e in added_ev)


def test_add_member_twice_is_409(new_org, new_member):
    org = new_org()
    u = new_member(org)
    expect_status(409, add_member, org.admin, org.name, u.login)


def test_add_unknown_user_is_404(new_org):
    org = new_org()
    expect_status(404, add_member, org.admin, org.name, "nobody-" + org.name)


def test_remove_or_update_non_member_is_404(new_org, new_user):
    org = new_org()
    u = new_user()
    expect_status(404, org.admin.orgs.delete_organization_member, org.name, u.login)
    expect_status(404, org.admin.orgs.update_organization_member, org.name, u.login,
                  models.UpdateOrganizationMemberRequest(role=models.OrganizationRole.Admin))


def test_members_can_list_but_not_manage(new_org, new_member, new_user):
    org = new_org()
    member = new_member(org)
    other = new_user()
    assert org.admin_login in _members(member.api, org.name)
    expect_status(403, add_member, member.api, org.name, other.login)
    expect_status(403, member.api.orgs.delete_organization_member, org.name, org.admin_login)
    expect_status(403, member.api.orgs.update_organization_member, org.name, member.login,
                  models.UpdateOrganizationMemberRequest(role=models.OrganizationRole.Admin))


def test_billing_manager_lists_members_and_teams_only(new_org, new_member):
    org = new_org()
    bm = new_member(org, role="billing-manager")
    assert _members(org.admin, org.name)[bm.login].role == "billing-manager"
    assert org.admin_login in _members(bm.api, org.name)
    assert bm.api.orgs.list_teams(org.name).teams is not None
    expect_status(403, bm.api.orgs.list_audit_log_events_handler_v2, org.name)
    expect_status(403, bm.api.orgs.list_org_tokens, org.name)


def test_non_member_sees_no_org(new_org, new_user):
    org = new_org()
    outsider = new_user()
    expect_status(404, outsider.api.orgs.list_organization_members, org.name)
    expect_status(404, outsider.api.orgs.get_organization, org.name)


def test_member_teams_and_removal_cleanup(new_org, new_member):
    org = new_org()
    u = new_member(org)
    create_team(org.admin, org.name, "red")
    create_team(org.admin, org.name, "blue")
    team_member(org.admin, org.name, "red", "add", u.login)
    team_member(org.admin, org.name, "blue", "add", u.login)
    teams = org.admin.orgs.get_organization_member_teams(org.name, u.login).teams or []
    assert sorted(teams) == ["blue", "red"]

    org.admin.orgs.delete_organization_member(org.name, u.login)
    red = org.admin.orgs.get_team(org.name, "red")
    assert u.login not in [m.github_login for m in (red.members or [])]
    # the org is no longer visible to the removed user
    expect_status(404, u.api.orgs.list_teams, org.name)
    expect_status(404, u.api.orgs.list_organization_members, org.name)


def test_admin_scope_token_manages_members_member_scope_does_not(new_org, new_user, api_for):
    org = new_org()
    a = api_for(create_org_token(org.admin, org.name, "mem-a", admin=True).token_value)
    o = api_for(create_org_token(org.admin, org.name, "mem-o", admin=False).token_value)
    u1, u2 = new_user(), new_user()

    # member scope: can list, cannot add/remove/change
    assert org.admin_login in _members(o, org.name)
    expect_status(403, add_member, o, org.name, u1.login)

    # admin scope: add, change role, remove
    assert add_member(a, org.name, u1.login).role == "member"
    a.orgs.update_organization_member(
        org.name, u1.login, models.UpdateOrganizationMemberRequest(role=models.OrganizationRole.Admin))
    assert _members(org.admin, org.name)[u1.login].role == "admin"
    expect_status(403, o.orgs.update_organization_member, org.name, u1.login,
                  models.UpdateOrganizationMemberRequest(role=models.OrganizationRole.Member))
    expect_status(403, o.orgs.delete_organization_member, org.name, u1.login)
    a.orgs.delete_organization_member(org.name, u1.login)
    assert u1.login not in _members(org.admin, org.name)
    add_member(a, org.name, u2.login)
    assert u2.login in _members(org.admin, org.name)
