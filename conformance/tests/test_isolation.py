"""Cross-org isolation: org and team tokens of org A see org B as nonexistent (404)."""

import pytest

from harness import (
    create_org_token, create_stack, create_team, create_team_token, expect_status, models,
    settings_request,
)


def _probe_all_404(api, b):
    expect_status(404, api.orgs.get_organization, b.name)
    expect_status(404, api.orgs.list_organization_members, b.name)
    expect_status(404, api.orgs.list_teams, b.name)
    expect_status(404, api.orgs.get_team, b.name, "bteam")
    expect_status(404, api.orgs.get_organization_member_teams, b.name, b.admin_login)
    expect_status(404, api.orgs.list_org_tokens, b.name)
    expect_status(404, api.orgs.list_team_tokens, b.name, "bteam")
    expect_status(404, api.orgs.list_audit_log_events_handler_v2, b.name)
    expect_status(404, api.orgs.update_organization_settings, b.name,
                  settings_request(set_members_can_create_teams=False))
    expect_status(404, api.orgs.create_stack, b.name, "x",
                  models.AppCreateStackRequest(stack_name="y"))
    expect_status(404, api.orgs.project_exists, b.name, "bp", check_body=False)
    expect_status(404, api.stacks.get_stack, b.name, "bp", "bs")
    expect_status(404, api.stacks.list_stack_teams, b.name, "bp", "bs")
    expect_status(404, api.stacks.update_stack_tags, b.name, "bp", "bs", {"a": "b"})
    expect_status(404, api.stacks.delete_stack, b.name, "bp", "bs")
    expect_status(404, api.orgs.create_pulumi_team, b.name,
                  models.CreatePulumiTeamRequest(name="z", display_name="z", description=""))
    expect_status(404, api.orgs.add_organization_member, b.name, b.admin_login,
                  models.AddOrganizationMemberRequest(role=models.OrganizationRole.Member))


@pytest.mark.parametrize("admin_scope", [False, True], ids=["member-scope", "admin-scope"])
def test_org_token_of_a_sees_no_org_b(new_org, api_for, admin_scope):
    a, b = new_org("a"), new_org("b")
    create_team(b.admin, b.name, "bteam")
    create_stack(b.admin, b.name, "bp", "bs")
    tok = create_org_token(a.admin, a.name, "iso", admin=admin_scope)
    _probe_all_404(api_for(tok.token_value), b)
    # and B's data is intact
    assert b.admin.stacks.get_stack(b.name, "bp", "bs").stack_name == "bs"


def test_team_token_of_a_sees_no_org_b(new_org, api_for):
    a, b = new_org("a"), new_org("b")
    create_team(a.admin, a.name, "ateam")
    create_team(b.admin, b.name, "bteam")
    create_stack(b.admin, b.name, "bp", "bs")
    tok = create_team_token(a.admin, a.name, "ateam", "iso-team")
    _probe_all_404(api_for(tok.token_value), b)


def test_admin_of_a_is_a_stranger_to_b(new_org):
    a, b = new_org("a"), new_org("b")
    create_team(b.admin, b.name, "bteam")
    create_stack(b.admin, b.name, "bp", "bs")
    _probe_all_404(a.admin, b)


def test_org_token_lists_only_its_own_orgs_stacks(new_org, api_for):
    a, b = new_org("a"), new_org("b")
    create_stack(a.admin, a.name, "ap", "as")
    create_stack(b.admin, b.name, "bp", "bs")
    tok = api_for(create_org_token(a.admin, a.name, "lister", admin=True).token_value)
    stacks = tok.users.list_user_stacks().stacks
    assert {(s.org_name, s.project_name, s.stack_name) for s in stacks} == {(a.name, "ap", "as")}
