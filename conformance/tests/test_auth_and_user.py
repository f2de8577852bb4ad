"""Health, authentication (401 rules), GET /api/user for each principal, capabilities."""

from harness import (
    assert_token_format, create_org_token, create_team, create_team_token, expect_raw_status,
    expect_status, fake_token, raw_request, uid,
)


def test_healthz_is_200_without_a_token(server):
    r = raw_request(server.url, "GET", "/healthz")
    assert r.status == 200


def test_cli_tokens_have_the_documented_format(server):
    org, login = f"org-{uid()}", f"admin-{uid()}"
    assert_token_format(server.init_org(org, login))
    assert_token_format(server.create_user(f"user-{uid()}"))


def test_init_twice_for_the_same_admin_returns_a_new_working_token(server, api_for):
    login = f"admin-{uid()}"
    t1 = server.init_org(f"org-{uid()}", login)
    t2 = server.init_org(f"org-{uid()}", login)
    assert t1 != t2
    for t in (t1, t2):
        assert api_for(t).users.get_current_user().github_login == login


def test_current_user_with_personal_token(new_org, api_for):
    email = f"a-{uid()}@example.com"
    org = new_org(email=email)
    me = org.admin.users.get_current_user()
    assert me.github_login == org.admin_login
    assert me.email == email
    assert me.site_admin is True, "stackgate init makes the admin a site admin"
    assert me.token_info is None, "a personal token carries no tokenInfo"
    roles = {o.github_login: o.role for o in me.organizations}
    assert roles.get(org.name) == "admin"
    assert isinstance(me.identities, list)


def test_current_user_of_a_plain_user(new_user):
    u = new_user(email=f"u-{uid()}@example.com", name="Plain User")
    me = u.api.users.get_current_user()
    assert me.github_login == u.login
    assert me.name == "Plain User"
    assert me.organizations == []
    assert not me.site_admin


def test_current_user_with_org_token(new_org, api_for):
    org = new_org()
    tok = create_org_token(org.admin, org.name, "whoami", admin=False)
    me = api_for(tok.token_value).users.get_current_user()
    assert me.github_login == org.name
    assert me.token_info is not None
    assert me.token_info.name == "whoami"
    assert me.token_info.organization == org.name
    assert not me.token_info.team


def test_current_user_with_team_token(new_org, api_for):
    org = new_org()
    create_team(org.admin, org.name, "ops")
    tok = create_team_token(org.admin, org.name, "ops", "ops-token")
    me = api_for(tok.token_value).users.get_current_user()
    assert me.token_info is not None
    assert me.token_info.name == "ops-token"
    assert me.token_info.organization == org.name
    assert me.token_info.team == "ops"


def test_missing_token_is_401(api_for):
    expect_status(401, api_for(None).users.get_current_user)


def test_unknown_well_formed_token_is_401(api_for):
    expect_status(401, api_for(fake_token()).users.get_current_user)


def test_token_with_wrong_check_digits_is_401(api_for):
    expect_status(401, api_for(fake_token(valid_check=False)).users.get_current_user)


def test_malformed_tokens_are_401(server):
    for value in ["nonsense", "pul-", "pul-" + "A" * 40, "pul-" + "0" * 39, "pul-" + "0" * 41]:
        r = raw_request(server.url, "GET", "/api/user", token=value)
        expect_raw_status(401, r)
    r = raw_request(server.url, "GET", "/api/user", headers={"Authorization": "Bearer x"})
    expect_raw_status(401, r)


def test_401_body_is_the_error_document(server):
    r = raw_request(server.url, "GET", "/api/user", token=fake_token())
    doc = expect_raw_status(401, r)
    assert set(doc) >= {"code", "message"}


def test_capabilities_decode_with_the_official_client(new_org):
    org = new_org()
    caps = org.admin.misc.capabilities()
    assert isinstance(caps.capabilities, list)
    for c in caps.capabilities:
        assert c.capability is not None


def test_the_openapi_document_is_fetched_with_the_official_client(new_org):
    """`fetch_rest_specification` reads /api/openapi/pulumi-spec.json: stackgate's OpenAPI
    3.1 document, generated from its route table. It names the operations the client
    calls, by the client's own operation ids where they exist."""
    org = new_org()
    doc = org.admin.misc.fetch_rest_specification()
    assert doc["openapi"] == "3.1.0"
    ops = {
        op["operationId"]: (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }
    assert ops["GetCurrentUser"] == ("GET", "/api/user")
    assert ops["CreateOrgToken"] == ("POST", "/api/orgs/{org}/tokens")
    assert ops["ListAuditLogEventsHandlerV2"] == ("GET", "/api/orgs/{org}/auditlogs/v2")
    assert ops["FetchRestSpecification"] == ("GET", "/api/openapi/pulumi-spec.json")
    # Public, like the health checks: no token needed to read what the API is.
    assert doc["paths"]["/api/openapi/pulumi-spec.json"]["get"]["security"] == []


def test_operation_ids_are_the_official_clients_names(new_org):
    """Where the official client has an operation on the same method and path, the
    document names it as the client's OpenAPI spec does (the client's method
    `list_org_tokens` comes from the operation id `ListOrgTokens`)."""
    import inspect
    import re

    import pulumi_cloud_sdk.apis as apis

    def norm(path):
        return re.sub(r"\{[^}]+\}", "{}", path)

    official = {}
    for _, cls in inspect.getmembers(apis, inspect.isclass):
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_") or name.endswith("_with_http_info"):
                continue
            src = inspect.getsource(fn)
            path = re.search(r"resource_path = '([^']+)'", src)
            method = re.search(r"call_api\(resource_path, '(\w+)'", src)
            if path and method:
                camel = "".join(p[:1].upper() + p[1:] for p in name.split("_"))
                official[(method.group(1), norm(path.group(1)))] = camel
    assert len(official) > 300, "the client's operations were not found"

    doc = new_org().admin.misc.fetch_rest_specification()
    compared = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            want = official.get((method.upper(), norm(path)))
            if want is not None:
                assert op["operationId"] == want, f"{method.upper()} {path}"
                compared += 1
    assert compared >= 55, compared
