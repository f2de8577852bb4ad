"""Personal access tokens: create / list / delete, revocation, expiry rules."""

import json

from harness import (
    create_org_token, create_personal_token, create_team, create_team_token, expect_status,
    models, now, poll_until, raw_request, status_of,
)

DAY = 86400


def test_create_list_delete_personal_token(new_user, api_for, server):
    u = new_user()
    created = create_personal_token(u.api, description="laptop")
    assert created.id
    assert created.token_value != u.token

    t = api_for(created.token_value)
    assert t.users.get_current_user().github_login == u.login

    listing = u.api.users.list_personal_tokens()
    mine = {tok.id: tok for tok in listing.tokens}
    assert created.id in mine
    tok = mine[created.id]
    assert tok.description == "laptop"
    assert tok.expires == 0
    assert tok.admin is False
    assert tok.name == "", "personal tokens have no name"
    assert isinstance(tok.created, str) and tok.created
    assert isinstance(tok.last_used, int)
    if tok.type is not None:
        assert tok.type == "personal"

    # the secret is shown once: never in a listing
    raw = raw_request(server.url, "GET", "/api/user/tokens", token=u.token)
    assert raw.status == 200
    assert created.token_value not in raw.body.decode()
    assert "tokenValue" not in json.loads(raw.body)["tokens"][0]

    u.api.users.delete_personal_token(created.id)
    assert created.id not in {x.id for x in u.api.users.list_personal_tokens().tokens}


def test_deleted_token_is_refused_at_once(new_user, api_for):
    u = new_user()
    created = create_personal_token(u.api)
    t = api_for(created.token_value)
    t.users.get_current_user()
    u.api.users.delete_personal_token(created.id)
    expect_status(401, t.users.get_current_user)


def test_deleting_unknown_or_foreign_token_is_404(new_user):
    a, b = new_user(), new_user()
    b_tok = create_personal_token(b.api)
    expect_status(404, a.api.users.delete_personal_token, b_tok.id)
    expect_status(404, a.api.users.delete_personal_token, "no-such-token-id")
    # b's token still works
    assert b.api.users.get_current_user().github_login == b.login


def test_deleting_twice_is_404(new_user):
    u = new_user()
    created = create_personal_token(u.api)
    u.api.users.delete_personal_token(created.id)
    expect_status(404, u.api.users.delete_personal_token, created.id)


def test_expiry_in_the_past_is_400(new_user):
    u = new_user()
    req = models.CreatePersonalAccessTokenRequest(description="old", expires=now() - 60)
    expect_status(400, u.api.users.create_personal_token, req)


def test_expiry_more_than_730_days_ahead_is_400(new_user):
    u = new_user()
    too_far = models.CreatePersonalAccessTokenRequest(description="far", expires=now() + 731 * DAY)
    expect_status(400, u.api.users.create_personal_token, too_far)
    ok = create_personal_token(u.api, expires=now() + 729 * DAY)
    listed = {t.id: t for t in u.api.users.list_personal_tokens().tokens}
    assert listed[ok.id].expires > now() + 728 * DAY


def test_token_stops_working_when_it_expires(new_user, api_for):
    u = new_user()
    expires = now() + 2
    created = create_personal_token(u.api, expires=expires)
    t = api_for(created.token_value)
    assert t.users.get_current_user().github_login == u.login
    # poll: it must turn into 401 shortly after `expires` (bounded, no long sleep)
    assert poll_until(lambda: status_of(t.users.get_current_user) == 401, timeout=5.0,
                      interval=0.2), "token still accepted after its expiry"
    expect_status(401, t.users.get_current_user)


def test_org_and_team_tokens_cannot_manage_personal_tokens(new_org, api_for):
    org = new_org()
    create_team(org.admin, org.name, "t1")
    member_scope = create_org_token(org.admin, org.name, "pt-o", admin=False)
    admin_scope = create_org_token(org.admin, org.name, "pt-a", admin=True)
    team_tok = create_team_token(org.admin, org.name, "t1", "pt-t")
    mine = create_personal_token(org.admin)
    req = models.CreatePersonalAccessTokenRequest(description="x", expires=0)
    for tok in (member_scope, admin_scope, team_tok):
        api = api_for(tok.token_value)
        expect_status(403, api.users.create_personal_token, req)
        expect_status(403, api.users.list_personal_tokens)
        expect_status(403, api.users.delete_personal_token, mine.id)
