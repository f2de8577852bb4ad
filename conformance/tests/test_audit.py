"""Audit log: order, paging, event ids, token attribution, auth failures, catalogue, export."""

import pytest

from harness import (
    add_member, create_org_token, create_personal_token, create_stack, create_team, events_named,
    expect_status, patch_settings, team_member,
)

REQUIRED_EVENT_TYPES = [
    "member-added", "member-removed", "member-role-changed", "organization-settings-changed",
    "team-created", "team-updated", "team-deleted", "organization-token-created",
    "organization-token-deleted", "team-token-created", "team-token-deleted", "stack-created",
    "stack-deleted", "stack-transferred-to-organization", "stack-tags-changed",
    "auth-failure-organization-role", "auth-failure-stack-permission",
]


def test_events_are_newest_first_with_expected_ids(new_org, new_user):
    org = new_org()
    u = new_user()
    add_member(org.admin, org.name, u.login)                         # member-added
    patch_settings(org.admin, org.name, set_members_can_create_teams=False)  # settings-changed
    create_team(org.admin, org.name, "aud")                          # team-created
    team_member(org.admin, org.name, "aud", "add", u.login)          # team-updated
    create_stack(org.admin, org.name, "p", "s")                      # stack-created
    org.admin.stacks.update_stack_tags(org.name, "p", "s", {"a": "b"})  # stack-tags-changed
    org.admin.stacks.delete_stack(org.name, "p", "s")                # stack-deleted
    org.admin.orgs.delete_team(org.name, "aud")                      # team-deleted
    org.admin.orgs.delete_organization_member(org.name, u.login)     # member-removed

    events = org.admin.audit_events(org.name)
    names = [e.event for e in events]
    expected_order = ["member-added", "organization-settings-changed", "team-created",
                      "team-updated", "stack-created", "stack-tags-changed", "stack-deleted",
                      "team-deleted", "member-removed"]
    positions = []
    for ev in expected_order:
        assert ev in names, f"{ev} missing from {names}"
        positions.append(names.index(ev))  # newest occurrence: ours
    assert positions == sorted(positions, reverse=True), f"not newest first: {names}"
    stamps = [e.timestamp for e in events]
    assert stamps == sorted(stamps, reverse=True)
    for e in events:
        assert isinstance(e.description, str) and e.description
        assert e.user is not None

    settings_ev = events_named(events, "organization-settings-changed")[0]
    assert settings_ev.req_org_admin is True
    member_ev = events_named(events, "member-added")[0]
    assert u.login in member_ev.description
    assert member_ev.user.github_login == org.admin_login
    for e in (settings_ev, member_ev):
        assert "127.0.0.1" in e.source_ip
    assert any("aud" in e.description for e in events_named(events, "team-created"))


def test_paging_with_continuation_token(new_org):
    org = new_org()
    for i in range(7):
        create_team(org.admin, org.name, f"page{i}")
    full = org.admin.audit_events(org.name, page_size=1000)
    assert len(full) >= 7
    paged, token, pages = [], None, 0
    while True:
        page = org.admin.audit_page(org.name, page_size=2, continuation_token=token)
        pages += 1
        assert len(page.audit_log_events) <= 2
        paged.extend(page.audit_log_events)
        token = page.continuation_token
        if not token:
            break
        assert pages < 100
    assert pages >= 4
    key = lambda e: (e.timestamp, e.event, e.description)  # noqa: E731
    assert [key(e) for e in paged] == [key(e) for e in full]
    # the generated method's own continuationToken argument works too
    first = org.admin.audit_page(org.name, page_size=3)
    rest = org.admin.orgs.list_audit_log_events_handler_v2(
        org.name, continuation_token=first.continuation_token)
    assert [key(e) for e in rest.audit_log_events][:2] == [key(e) for e in full[3:5]]


def test_token_attribution(new_org, new_user, api_for):
    org = new_org()
    # personal token: tokenID set, tokenName empty
    personal_ids = [t.id for t in org.admin.users.list_personal_tokens().tokens]
    assert len(personal_ids) == 1
    create_team(org.admin, org.name, "by-personal")
    ev = [e for e in events_named(org.admin.audit_events(org.name), "team-created")
          if "by-personal" in e.description][0]
    assert ev.token_id == personal_ids[0]
    assert ev.token_name in ("", None)

    # org token: tokenID and tokenName
    a_tok = create_org_token(org.admin, org.name, "auditor-a", admin=True)
    a = api_for(a_tok.token_value)
    u = new_user()
    add_member(a, org.name, u.login)
    ev = [e for e in events_named(org.admin.audit_events(org.name), "member-added")
          if u.login in e.description][0]
    assert ev.token_id == a_tok.id
    assert ev.token_name == "auditor-a"
    assert ev.user is not None

    # a second personal token acting
    second = create_personal_token(org.admin)
    create_team(api_for(second.token_value), org.name, "by-second")
    ev = [e for e in events_named(org.admin.audit_events(org.name), "team-created")
          if "by-second" in e.description][0]
    assert ev.token_id == second.id


def test_admin_scope_token_reads_audit_logs(new_org, api_for):
    org = new_org()
    a = api_for(create_org_token(org.admin, org.name, "reader-a", admin=True).token_value)
    events = a.orgs.list_audit_log_events_handler_v2(org.name).audit_log_events
    assert events_named(events, "organization-token-created")


def test_refusals_are_recorded_as_auth_failures(new_org, new_member, api_for):
    org = new_org()
    member = new_member(org)
    o_tok = create_org_token(org.admin, org.name, "refused-o", admin=False)
    o = api_for(o_tok.token_value)
    expect_status(403, member.api.orgs.list_audit_log_events_handler_v2, org.name)
    expect_status(403, add_member, o, org.name, member.login)

    fails = events_named(org.admin.audit_events(org.name), "auth-failure-organization-role")
    assert len(fails) >= 2
    for e in fails:
        assert e.auth_failure is True
    assert any(e.token_id == o_tok.id and e.token_name == "refused-o" for e in fails)
    assert any(e.user is not None and e.user.github_login == member.login for e in fails)


def test_404s_are_not_written_into_the_hidden_orgs_log(new_org, api_for):
    target, other = new_org(), new_org()
    create_stack(target.admin, target.name, "p", "s")
    before = target.admin.audit_events(target.name)
    o = api_for(create_org_token(other.admin, other.name, "prober", admin=True).token_value)
    expect_status(404, o.orgs.list_audit_log_events_handler_v2, target.name)
    expect_status(404, o.stacks.get_stack, target.name, "p", "s")
    expect_status(404, other.admin.stacks.delete_stack, target.name, "p", "s")
    after = target.admin.audit_events(target.name)
    key = lambda e: (e.timestamp, e.event, e.description)  # noqa: E731
    assert [key(e) for e in after] == [key(e) for e in before]


def test_event_type_catalogue(new_org, new_member):
    org = new_org()
    types = {t.event: t for t in org.admin.orgs.list_audit_log_event_types(org.name).event_types}
    for ev in REQUIRED_EVENT_TYPES:
        assert ev in types, f"{ev} missing from the catalogue"
        t = types[ev]
        assert t.display_name and t.description
        assert t.deprecated is False
    assert types["member-added"].requires_org_admin is True
    assert types["stack-deleted"].requires_stack_admin is True
    assert types["stack-created"].requires_org_admin is False
    assert types["auth-failure-organization-role"].authentication_failure is True
    assert types["auth-failure-stack-permission"].authentication_failure is True
    assert types["team-created"].authentication_failure is False
    member = new_member(org)
    expect_status(403, member.api.orgs.list_audit_log_event_types, org.name)


def test_export_csv_and_cef(new_org, new_member):
    org = new_org()
    create_team(org.admin, org.name, "exported")
    csv_text = org.admin.orgs.export_audit_log_events_handler_v2(org.name, format="csv")
    assert isinstance(csv_text, str), f"export decoded as {type(csv_text)} (Content-Type?)"
    lines = csv_text.splitlines()
    # Pulumi's nine columns first, then the hash-chain columns an auditor verifies with.
    assert lines[0] == ("Timestamp,Name,Login,Event,Description,SourceIP,RequireOrgAdmin,"
                        "RequireStackAdmin,AuthenticationFailure,"
                        "TokenID,TokenName,Email,Sequence,PreviousHash,Hash")
    assert any("team-created" in ln for ln in lines[1:])

    cef = org.admin.orgs.export_audit_log_events_handler_v2(org.name, format="cef")
    assert isinstance(cef, str)
    cef_lines = [ln for ln in cef.splitlines() if ln.strip()]
    assert cef_lines and all(ln.startswith("CEF:0|") for ln in cef_lines)

    member = new_member(org)
    expect_status(403, member.api.orgs.export_audit_log_events_handler_v2, org.name,
                  format="csv", check_body=False)
