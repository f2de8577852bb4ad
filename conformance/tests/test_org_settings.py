"""Org read and settings: GET /api/orgs/{org}, PATCH /api/orgs/{org}, token expiry cap."""

from harness import (
    create_org_token, create_personal_token, create_team, expect_raw_status, expect_status,
    models, now, patch_settings, raw_request, settings_request,
)

HOUR, DAY = 3600, 86400


def test_get_organization(new_org):
    org = new_org()
    o = org.admin.orgs.get_organization(org.name)
    assert o.github_login == org.name
    assert isinstance(o.name, str)
    assert isinstance(o.repos, list)


def test_get_unknown_org_is_404(new_org):
    org = new_org()
    expect_status(404, org.admin.orgs.get_organization, "no-such-org-" + org.name)


def test_settings_defaults_and_each_setter(new_org, api_for):
    org = new_org()
    # a never-expiring token is refused once a cap is set, so act with a 1-hour token
    admin = api_for(create_personal_token(org.admin, expires=now() + HOUR).token_value)
    # a PATCH that changes one setting reports the others at their defaults
    md = patch_settings(admin, org.name, set_members_can_create_teams=True)
    assert md.user_role == "admin"
    assert md.default_stack_permission == 101, "new orgs default to read"
    assert md.members_can_create_stacks is True
    assert md.members_can_create_teams is True
    assert md.members_can_transfer_stacks is False
    assert not md.max_access_token_expiry_days

    md = patch_settings(admin, org.name,
                        set_default_stack_permission=models.StackPermission.Write)
    assert md.default_stack_permission == 102
    assert md.members_can_create_stacks is True, "fields sent as null must not change"

    md = patch_settings(admin, org.name, set_members_can_create_stacks=False)
    assert md.members_can_create_stacks is False
    assert md.default_stack_permission == 102

    md = patch_settings(admin, org.name, set_members_can_create_teams=False)
    assert md.members_can_create_teams is False
    assert md.members_can_create_stacks is False

    md = patch_settings(admin, org.name, set_members_can_transfer_stacks=True)
    assert md.members_can_transfer_stacks is True

    md = patch_settings(admin, org.name, set_max_access_token_expiry_days=30)
    assert md.max_access_token_expiry_days == 30
    md = patch_settings(admin, org.name, set_max_access_token_expiry_days=0)
    assert not md.max_access_token_expiry_days, "0 clears the cap"

    md = patch_settings(admin, org.name,
                        set_default_stack_permission=models.StackPermission.None_)
    assert md.default_stack_permission == 0


def test_settings_patch_with_all_nulls_changes_nothing(new_org):
    org = new_org()
    before = patch_settings(org.admin, org.name, set_members_can_create_stacks=False)
    after = org.admin.orgs.update_organization_settings(org.name, settings_request())
    assert after.members_can_create_stacks is False
    assert after.default_stack_permission == before.default_stack_permission


def test_max_expiry_days_out_of_range_is_400(new_org):
    org = new_org()
    for bad in (-1, 3651):
        expect_status(400, org.admin.orgs.update_organization_settings, org.name,
                      settings_request(set_max_access_token_expiry_days=bad))
    assert patch_settings(org.admin, org.name,
                          set_max_access_token_expiry_days=3650).max_access_token_expiry_days == 3650


def test_accept_stack_transfers_from_via_raw_patch(new_org, server):
    org, other = new_org(), new_org()
    r = raw_request(server.url, "PATCH", f"/api/orgs/{org.name}", token=org.admin_token,
                    body={"setAcceptStackTransfersFrom": [other.name]})
    assert r.status == 200, r.body
    assert r.json()["acceptStackTransfersFrom"] == [other.name]
    # still decodable by the official client, and kept by later PATCHes
    patch_settings(org.admin, org.name, set_members_can_create_teams=True)
    r = raw_request(server.url, "PATCH", f"/api/orgs/{org.name}", token=org.admin_token,
                    body={})
    assert r.status == 200, r.body
    assert r.json()["acceptStackTransfersFrom"] == [other.name]
    r = raw_request(server.url, "PATCH", f"/api/orgs/{org.name}", token=org.admin_token,
                    body={"setAcceptStackTransfersFrom": []})
    assert r.status == 200, r.body
    assert not r.json().get("acceptStackTransfersFrom")


def test_bad_setting_values_are_400(new_org, server):
    org = new_org()
    for body in ({"setDefaultStackPermission": 150},
                 {"setAcceptStackTransfersFrom": ["bad name!"]},
                 {"setMembersCanCreateStacks": "yes"}):
        r = raw_request(server.url, "PATCH", f"/api/orgs/{org.name}", token=org.admin_token,
                        body=body)
        expect_raw_status(400, r)


def test_who_may_change_settings(new_org, new_member, api_for):
    org = new_org()
    member = new_member(org)
    member_scope = create_org_token(org.admin, org.name, "set-o", admin=False)
    admin_scope = create_org_token(org.admin, org.name, "set-a", admin=True)
    req = settings_request(set_members_can_create_teams=False)
    expect_status(403, member.api.orgs.update_organization_settings, org.name, req)
    expect_status(403, api_for(member_scope.token_value).orgs.update_organization_settings,
                  org.name, req)
    md = api_for(admin_scope.token_value).orgs.update_organization_settings(org.name, req)
    assert md.members_can_create_teams is False


def test_token_expiry_cap(new_org, api_for):
    org = new_org()
    # A short-lived admin token, so the admin can still act once the cap applies.
    short = api_for(create_personal_token(org.admin, expires=now() + HOUR).token_value)
    create_team(short, org.name, "capped")
    md = patch_settings(short, org.name, set_max_access_token_expiry_days=1)
    assert md.max_access_token_expiry_days == 1

    # new org/team tokens must expire inside the cap
    for expires in (0, now() + 2 * DAY):
        expect_status(400, short.orgs.create_org_token, org.name,
                      models.CreateOrgAccessTokenRequest(name="cap-bad", description="",
                                                         expires=expires, admin=False))
        expect_status(400, short.orgs.create_team_token, org.name, "capped",
                      models.CreateTeamAccessTokenRequest(name="cap-bad-t", description="",
                                                          expires=expires))
    ok = create_org_token(short, org.name, "cap-ok", admin=False, expires=now() + HOUR)
    assert api_for(ok.token_value).orgs.list_teams(org.name).teams is not None

    # a never-expiring personal token is refused in that org, naming the org
    body = expect_status(403, org.admin.orgs.list_teams, org.name)
    assert org.name in body["message"]
    # ... but not outside it
    assert org.admin.users.get_current_user().github_login == org.admin_login

    patch_settings(short, org.name, set_max_access_token_expiry_days=0)
    assert org.admin.orgs.list_teams(org.name).teams is not None
