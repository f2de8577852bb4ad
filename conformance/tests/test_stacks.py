"""Stacks: create, HEAD project, get, list (/api/user/stacks filters + paging), delete, tags,
teams of a stack, the console stack-team permission endpoint, stack permission levels."""

import urllib.error

from harness import (
    create_org_token, create_stack, create_team, events_named, expect_status, grant_team_stack,
    models, patch_settings, team_member,
)


def _listed(api, **filters):
    """All stacks from list_user_stacks, following continuation tokens."""
    out, token = [], None
    for _ in range(100):
        page = api.users.list_user_stacks(continuation_token=token, **filters)
        out.extend(page.stacks)
        token = page.continuation_token
        if not token:
            return out
    raise AssertionError("stack paging did not terminate")


def _names(stacks):
    return sorted((s.org_name, s.project_name, s.stack_name) for s in stacks)


def test_create_get_delete_stack(new_org):
    org = new_org()
    resp = org.admin.orgs.create_stack(
        org.name, "webapp", models.AppCreateStackRequest(stack_name="dev", tags={"owner": "me"}))
    assert resp is None or resp.messages is None or isinstance(resp.messages, list)
    s = org.admin.stacks.get_stack(org.name, "webapp", "dev")
    assert (s.org_name, s.project_name, s.stack_name) == (org.name, "webapp", "dev")
    assert s.id
    assert isinstance(s.active_update, str)
    assert isinstance(s.version, int)
    assert (s.tags or {}).get("owner") == "me"

    evs = org.admin.audit_events(org.name)
    assert any("dev" in e.description for e in events_named(evs, "stack-created"))

    org.admin.stacks.delete_stack(org.name, "webapp", "dev")
    expect_status(404, org.admin.stacks.get_stack, org.name, "webapp", "dev")
    expect_status(404, org.admin.stacks.delete_stack, org.name, "webapp", "dev")
    assert events_named(org.admin.audit_events(org.name), "stack-deleted")


def test_duplicate_stack_is_409(new_org):
    org = new_org()
    create_stack(org.admin, org.name, "p", "s")
    expect_status(409, create_stack, org.admin, org.name, "p", "s")


def test_bad_names_are_400(new_org):
    org = new_org()
    for bad in ("has space", "..", ".", "x" * 101, "", "a/b"):
        expect_status(400, create_stack, org.admin, org.name, "proj", bad)
    for bad_project in ("has space", "x" * 101):
        expect_status(400, create_stack, org.admin, org.name, bad_project, "ok")
    create_stack(org.admin, org.name, "Proj_1.x-y", "Stack_1.x-y")


def test_create_in_unknown_org_is_404(new_org):
    org = new_org()
    expect_status(404, create_stack, org.admin, "ghost-" + org.name, "p", "s")


def test_head_project_exists(new_org):
    org = new_org()
    create_stack(org.admin, org.name, "present", "s")
    org.admin.orgs.project_exists(org.name, "present")  # 2xx: no exception
    expect_status(404, org.admin.orgs.project_exists, org.name, "absent", check_body=False)


def test_list_user_stacks_filters(new_org):
    org = new_org()
    create_stack(org.admin, org.name, "alpha", "dev", tags={"env": "dev"})
    create_stack(org.admin, org.name, "alpha", "prod", tags={"env": "prod"})
    create_stack(org.admin, org.name, "beta", "prod", tags={"env": "prod", "team": "b"})

    everything = _listed(org.admin, organization=org.name)
    assert _names(everything) == [(org.name, "alpha", "dev"), (org.name, "alpha", "prod"),
                                  (org.name, "beta", "prod")]
    for s in everything:
        assert s.id

    assert _names(_listed(org.admin, organization=org.name, project="alpha")) == [
        (org.name, "alpha", "dev"), (org.name, "alpha", "prod")]
    assert _names(_listed(org.admin, organization=org.name, tag_name="env", tag_value="prod")) == [
        (org.name, "alpha", "prod"), (org.name, "beta", "prod")]
    assert _names(_listed(org.admin, organization=org.name, tag_name="team")) == [
        (org.name, "beta", "prod")]
    assert _listed(org.admin, organization=org.name, project="none") == []


def test_list_user_stacks_paging(new_org):
    org = new_org()
    expected = []
    for i in range(5):
        create_stack(org.admin, org.name, "pager", f"s{i}")
        expected.append((org.name, "pager", f"s{i}"))
    seen, token, pages = [], None, 0
    while True:
        page = org.admin.users.list_user_stacks(organization=org.name, max_results=2,
                                                continuation_token=token)
        pages += 1
        assert len(page.stacks) <= 2
        seen.extend(page.stacks)
        token = page.continuation_token
        if not token:
            break
        assert pages < 10
    assert pages >= 3
    assert sorted(_names(seen)) == sorted(expected), "each stack exactly once across pages"


def test_list_user_stacks_spans_the_users_orgs_only(new_org, new_user):
    org1, org2 = new_org(), new_org()
    create_stack(org1.admin, org1.name, "p", "one")
    create_stack(org2.admin, org2.name, "p", "two")
    assert _names(_listed(org1.admin)) == [(org1.name, "p", "one")]
    stranger = new_user()
    assert _listed(stranger.api) == []


def test_tags_patch_replaces_the_user_tags(new_org):
    org = new_org()
    create_stack(org.admin, org.name, "t", "s", tags={"old": "1"})
    org.admin.stacks.update_stack_tags(org.name, "t", "s", {"a": "1", "b": "2"})
    tags = org.admin.stacks.get_stack(org.name, "t", "s").tags or {}
    assert tags.get("a") == "1" and tags.get("b") == "2"
    assert "old" not in tags
    org.admin.stacks.update_stack_tags(org.name, "t", "s", {"a": "1"})
    tags = org.admin.stacks.get_stack(org.name, "t", "s").tags or {}
    assert tags.get("a") == "1" and "b" not in tags
    assert events_named(org.admin.audit_events(org.name), "stack-tags-changed")
    expect_status(404, org.admin.stacks.update_stack_tags, org.name, "t", "missing", {"a": "1"})


def test_stack_teams_and_console_permission_endpoint(new_org, new_member):
    org = new_org()
    member = new_member(org)
    create_team(org.admin, org.name, "alpha")
    create_team(org.admin, org.name, "beta")
    team_member(org.admin, org.name, "alpha", "add", member.login)
    create_stack(org.admin, org.name, "p", "s")

    st = org.admin.stacks.list_stack_teams(org.name, "p", "s")
    assert st.project_name == "p"
    assert st.teams == [] or all(t.permission == 0 for t in st.teams)

    org.admin.stacks.update_team_stack_permissions(
        org.name, "p", "s", "alpha", models.UpdateTeamStackPermissionsRequest(permissions=102))
    org.admin.stacks.update_team_stack_permissions(
        org.name, "p", "s", "beta", models.UpdateTeamStackPermissionsRequest(permissions=101))
    teams = {t.name: t for t in org.admin.stacks.list_stack_teams(org.name, "p", "s").teams}
    assert teams["alpha"].permission == 102 and teams["beta"].permission == 101
    assert isinstance(teams["alpha"].display_name, str)
    # the member sees the list too (read), with isMember set for their team
    mine = {t.name: t for t in member.api.stacks.list_stack_teams(org.name, "p", "s").teams}
    assert mine["alpha"].is_member is True
    assert mine["beta"].is_member is False
    # the team-centric view agrees
    alpha = org.admin.orgs.get_team(org.name, "alpha")
    assert [(s.project_name, s.stack_name, s.permission) for s in alpha.stacks or []] == [
        ("p", "s", 102)]

    # member has write via alpha, not stack admin: cannot use the stack-centric endpoint
    expect_status(403, member.api.stacks.update_team_stack_permissions, org.name, "p", "s",
                  "beta", models.UpdateTeamStackPermissionsRequest(permissions=103))

    org.admin.stacks.update_team_stack_permissions(
        org.name, "p", "s", "beta", models.UpdateTeamStackPermissionsRequest(permissions=0))
    teams = {t.name: t for t in org.admin.stacks.list_stack_teams(org.name, "p", "s").teams}
    assert "beta" not in teams or teams["beta"].permission == 0
    assert events_named(org.admin.audit_events(org.name), "stack-team-permission-changed")
    expect_status(404, org.admin.stacks.update_team_stack_permissions, org.name, "p", "s",
                  "ghost", models.UpdateTeamStackPermissionsRequest(permissions=101))


def test_member_stack_levels_follow_the_default_permission(new_org, new_member):
    org = new_org()
    member = new_member(org)
    create_stack(org.admin, org.name, "lv", "s", tags={"x": "1"})

    # default 101 read: see and list, not write, not delete
    assert member.api.stacks.get_stack(org.name, "lv", "s").stack_name == "s"
    assert _names(_listed(member.api, organization=org.name)) == [(org.name, "lv", "s")]
    expect_status(403, member.api.stacks.update_stack_tags, org.name, "lv", "s", {"x": "2"})
    expect_status(403, member.api.stacks.delete_stack, org.name, "lv", "s")
    assert events_named(org.admin.audit_events(org.name), "auth-failure-stack-permission")

    # default 0: hidden entirely
    patch_settings(org.admin, org.name, set_default_stack_permission=models.StackPermission.None_)
    expect_status(404, member.api.stacks.get_stack, org.name, "lv", "s")
    expect_status(404, member.api.stacks.update_stack_tags, org.name, "lv", "s", {"x": "2"})
    expect_status(404, member.api.stacks.list_stack_teams, org.name, "lv", "s")
    assert _listed(member.api, organization=org.name) == []

    # default 102 write: tags yes, delete no
    patch_settings(org.admin, org.name, set_default_stack_permission=models.StackPermission.Write)
    member.api.stacks.update_stack_tags(org.name, "lv", "s", {"x": "2"})
    expect_status(403, member.api.stacks.delete_stack, org.name, "lv", "s")


def test_team_grant_raises_a_members_level(new_org, new_member):
    org = new_org()
    member = new_member(org)
    patch_settings(org.admin, org.name, set_default_stack_permission=models.StackPermission.None_)
    create_stack(org.admin, org.name, "g", "s")
    create_team(org.admin, org.name, "writers")
    team_member(org.admin, org.name, "writers", "add", member.login)
    expect_status(404, member.api.stacks.get_stack, org.name, "g", "s")
    grant_team_stack(org.admin, org.name, "writers", "g", "s", 102)
    member.api.stacks.update_stack_tags(org.name, "g", "s", {"k": "v"})
    expect_status(403, member.api.stacks.delete_stack, org.name, "g", "s")
    grant_team_stack(org.admin, org.name, "writers", "g", "s", 103, edit=True)
    member.api.stacks.delete_stack(org.name, "g", "s")


def test_creator_is_stack_admin(new_org, new_member, api_for):
    org = new_org()
    member = new_member(org)
    patch_settings(org.admin, org.name, set_default_stack_permission=models.StackPermission.None_)
    create_stack(member.api, org.name, "mine", "s")
    member.api.stacks.update_stack_tags(org.name, "mine", "s", {"k": "v"})
    member.api.stacks.delete_stack(org.name, "mine", "s")

    o = api_for(create_org_token(org.admin, org.name, "creator-o", admin=False).token_value)
    create_stack(o, org.name, "bytoken", "s")
    assert o.stacks.get_stack(org.name, "bytoken", "s").stack_name == "s"
    o.stacks.delete_stack(org.name, "bytoken", "s")


def test_members_can_create_stacks_setting(new_org, new_member, api_for):
    org = new_org()
    member = new_member(org)
    o = api_for(create_org_token(org.admin, org.name, "mk-o", admin=False).token_value)
    patch_settings(org.admin, org.name, set_members_can_create_stacks=False)
    expect_status(403, create_stack, member.api, org.name, "p", "m")
    expect_status(403, create_stack, o, org.name, "p", "o")
    create_stack(org.admin, org.name, "p", "admin-ok")
    a = api_for(create_org_token(org.admin, org.name, "mk-a", admin=True).token_value)
    create_stack(a, org.name, "p", "admin-token-ok")
    patch_settings(org.admin, org.name, set_members_can_create_stacks=True)
    create_stack(member.api, org.name, "p", "m")


def test_404_is_not_confused_with_an_sdk_decode_error(new_org):
    """A missing stack must be a clean HTTP 404 with the error document."""
    org = new_org()
    try:
        org.admin.stacks.get_stack(org.name, "none", "none")
    except urllib.error.HTTPError as e:
        assert e.code == 404
        assert e.headers.get("Content-Type", "").startswith("application/json")
    else:
        raise AssertionError("expected 404")
