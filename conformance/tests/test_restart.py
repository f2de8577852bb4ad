"""Persistence: stop the server, start it again on the same database, everything still works."""

from harness import (
    Api, create_org_token, create_personal_token, create_stack, create_team, create_team_token,
    expect_status, grant_team_stack, patch_settings, uid,
)


def test_data_and_tokens_survive_a_restart(fresh_server):
    srv = fresh_server
    org, login = f"org-{uid()}", f"admin-{uid()}"
    admin_token = srv.init_org(org, login)
    admin = Api(srv.url, admin_token)
    create_team(admin, org, "keep")
    create_stack(admin, org, "proj", "stk", tags={"t": "1"})
    grant_team_stack(admin, org, "keep", "proj", "stk", 102)
    patch_settings(admin, org, set_members_can_create_teams=False)
    org_tok = create_org_token(admin, org, "persist-o", admin=False)
    team_tok = create_team_token(admin, org, "keep", "persist-t")
    dead = create_personal_token(admin)
    admin.users.delete_personal_token(dead.id)
    events_before = len(admin.audit_events(org))

    srv.restart()

    admin = Api(srv.url, admin_token)  # new port after restart
    assert admin.users.get_current_user().github_login == login
    s = admin.stacks.get_stack(org, "proj", "stk")
    assert (s.tags or {}).get("t") == "1"
    team = admin.orgs.get_team(org, "keep")
    assert [(p.project_name, p.stack_name, p.permission) for p in team.stacks or []] == [
        ("proj", "stk", 102)]
    md = patch_settings(admin, org, set_members_can_create_stacks=True)
    assert md.members_can_create_teams is False
    assert Api(srv.url, org_tok.token_value).users.get_current_user().github_login == org
    assert Api(srv.url, team_tok.token_value).stacks.get_stack(org, "proj", "stk").stack_name == "stk"
    expect_status(401, Api(srv.url, dead.token_value).users.get_current_user)
    assert len(admin.audit_events(org)) >= events_before
    # the CLI still works against the restarted server's database
    u_token = srv.create_user(f"user-{uid()}")
    assert Api(srv.url, u_token).users.get_current_user().organizations == []
