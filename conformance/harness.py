"""Shared machinery for the stackgate conformance suite.

Owns: starting/stopping a real `stackgate serve` process on a free loopback port,
running the operator CLI (`init`, `user create`) against the same database, building
official `pulumi_cloud_sdk` clients for a token, and small assertion helpers for the
error contract (`{"code": N, "message": "..."}`) and the token format.

Why the helpers look the way they do (facts about pulumi-cloud-sdk 2026.10.26.post1126):
- The SDK has no ApiException: a non-2xx answer surfaces as `urllib.error.HTTPError`
  (`.code`, `.read()`), raised by `urllib.request.urlopen` inside `ApiClient.call_api`.
- Auth is `Configuration.access_token`, sent as `Authorization: token <value>`.
- `ApiClient(configuration, transport=...)` accepts a `(request, timeout)` callable that
  replaces urlopen; we use it only to give every call a default timeout.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from pulumi_cloud_sdk import ApiClient, Configuration, models
from pulumi_cloud_sdk.api_client import _encode_query
from pulumi_cloud_sdk.apis import MiscellaneousApi, OrganizationsApi, StacksApi, UsersApi

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKEN_RE = re.compile(r"^pul-[0-9a-f]{40}$")
REQUEST_TIMEOUT = 15.0
READY_DEADLINE = 30.0
CLI_TIMEOUT = 60.0


def uid() -> str:
    """A short unique suffix so every test works in its own orgs/users."""
    return uuid.uuid4().hex[:10]


def now() -> int:
    return int(time.time())


def stackgate_bin() -> Path:
    p = Path(os.environ.get("STACKGATE_BIN", "target/release/stackgate"))
    if not p.is_absolute():
        p = REPO_ROOT / p
    return p


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- server


class StackgateServer:
    """One `stackgate serve` process on one SQLite file; can be stopped and restarted."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.db_path = workdir / "stackgate.db"
        # -> sqlite:///<absolute path>
        self.database_url = "sqlite://" + str(self.db_path)
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self._starts = 0
        self._log_path: Optional[Path] = None

    @property
    def url(self) -> str:
        assert self.port is not None, "server not started"
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = stackgate_bin()
        if not binary.is_file():
            pytest.fail(
                f"stackgate binary not found at {binary} "
                "(build it with `cargo build --release` or set STACKGATE_BIN)",
                pytrace=False,
            )
        last_error = ""
        for _attempt in range(3):  # a port picked by bind(0) can be taken before we use it
            self._starts += 1
            self.port = _free_port()
            self._log_path = self.workdir / f"serve-{self._starts}.log"
            with open(self._log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [str(binary), "serve", "--listen", f"127.0.0.1:{self.port}",
                     "--database", self.database_url],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=str(self.workdir),
                )
            ok, last_error = self._wait_ready()
            if ok:
                return
            self.stop()
        pytest.fail(f"stackgate serve did not become ready: {last_error}\n{self.log_tail()}",
                    pytrace=False)

    def _wait_ready(self) -> tuple[bool, str]:
        deadline = time.monotonic() + READY_DEADLINE
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return False, f"process exited with {self.proc.returncode}"
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return True, ""
                    last = f"/healthz answered {r.status}"
            except urllib.error.HTTPError as e:
                last = f"/healthz answered {e.code}"
            except (urllib.error.URLError, ConnectionError, socket.timeout, OSError) as e:
                last = f"/healthz: {e}"
            time.sleep(0.05)
        return False, f"deadline of {READY_DEADLINE}s passed ({last})"

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, n: int = 40) -> str:
        if not self._log_path or not self._log_path.exists():
            return ""
        lines = self._log_path.read_text(errors="replace").splitlines()
        return "--- server log (tail) ---\n" + "\n".join(lines[-n:])

    # ---- operator CLI -------------------------------------------------------

    def cli(self, *args: str) -> str:
        cmd = [str(stackgate_bin()), *args, "--database", self.database_url]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                           stdin=subprocess.DEVNULL, cwd=str(self.workdir))
        assert r.returncode == 0, (
            f"{' '.join(cmd)} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        return r.stdout

    @staticmethod
    def _last_line(out: str) -> str:
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        assert lines, "CLI printed nothing on stdout"
        return lines[-1]

    def init_org(self, org: str, admin: str, email: Optional[str] = None) -> str:
        """`stackgate init`: returns the admin's new personal token (last stdout line)."""
        args = ["init", "--org", org, "--admin", admin]
        if email:
            args += ["--email", email]
        token = self._last_line(self.cli(*args))
        assert_token_format(token)
        return token

    def create_user(self, login: str, email: Optional[str] = None,
                    name: Optional[str] = None) -> str:
        """`stackgate user create`: returns the user's personal token (last stdout line)."""
        args = ["user", "create", login]
        if email:
            args += ["--email", email]
        if name:
            args += ["--name", name]
        token = self._last_line(self.cli(*args))
        assert_token_format(token)
        return token


# --------------------------------------------------------------------------- clients


def _transport(request: urllib.request.Request, timeout: Optional[float]):
    return urllib.request.urlopen(request, timeout=timeout or REQUEST_TIMEOUT)


def make_client(base_url: str, token: Optional[str]) -> ApiClient:
    """An official ApiClient that authenticates with `Authorization: token <token>`."""
    cfg = Configuration()
    cfg.host = base_url
    cfg.access_token = token
    return ApiClient(cfg, transport=_transport)


class Api:
    """The official API classes bound to one token."""

    def __init__(self, base_url: str, token: Optional[str]):
        self.token = token
        self.client = make_client(base_url, token)
        self.users = UsersApi(self.client)
        self.orgs = OrganizationsApi(self.client)
        self.stacks = StacksApi(self.client)
        self.misc = MiscellaneousApi(self.client)

    def audit_page(self, org: str, page_size: Optional[int] = None,
                   continuation_token: Optional[str] = None) -> models.ResponseAuditLogs:
        """GET /api/orgs/{org}/auditlogs/v2 with our `pageSize` parameter, which the
        generated method has no argument for; still goes through the SDK's call_api and
        decodes into the SDK's ResponseAuditLogs model."""
        return self.client.call_api(
            "/api/orgs/{orgName}/auditlogs/v2", "GET",
            path_params={"orgName": org},
            query_params={"pageSize": page_size, "continuationToken": continuation_token},
            header_params={"Accept": "application/json"},
            response_type="ResponseAuditLogs",
        )

    def audit_events(self, org: str, page_size: Optional[int] = None,
                     max_pages: int = 200) -> list:
        """Every audit event of `org`, newest first, following continuation tokens."""
        events: list = []
        token = None
        for _ in range(max_pages):
            if page_size is None:
                page = self.orgs.list_audit_log_events_handler_v2(org, continuation_token=token)
            else:
                page = self.audit_page(org, page_size, token)
            events.extend(page.audit_log_events)
            token = page.continuation_token
            if not token:
                return events
        raise AssertionError("audit log paging did not terminate")


@dataclass
class Org:
    name: str
    admin_login: str
    admin_token: str
    admin: Api


@dataclass
class User:
    login: str
    token: str
    api: Api


# --------------------------------------------------------------------------- raw HTTP


@dataclass
class RawResponse:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def raw_request(base_url: str, method: str, path: str, token: Optional[str] = None,
                body: Any = None, headers: Optional[dict] = None,
                query: Optional[dict] = None) -> RawResponse:
    """A request outside the SDK (for /healthz, fields the SDK lacks, raw error bodies)."""
    url = base_url + path
    if query:
        url += "?" + _encode_query(query)
    hdrs = {"Accept": "application/json"}
    if token is not None:
        hdrs["Authorization"] = "token " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT) as r:
            return RawResponse(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, e.headers, e.read())


# --------------------------------------------------------------------------- assertions


def assert_token_format(value: str) -> None:
    """`pul-` + 40 lowercase hex; the last 8 are the CRC-32 of the first 32 [ours]."""
    assert TOKEN_RE.match(value), f"token {value!r} does not match pul-[0-9a-f]{{40}}"
    body = value[4:]
    crc = format(zlib.crc32(body[:32].encode("ascii")) & 0xFFFFFFFF, "08x")
    assert body[32:] == crc, f"token check digits {body[32:]} != crc32 {crc}"


def fake_token(valid_check: bool = True) -> str:
    """A well-formed token value that the server never issued."""
    head = uuid.uuid4().hex  # 32 lowercase hex
    crc = format(zlib.crc32(head.encode("ascii")) & 0xFFFFFFFF, "08x")
    if not valid_check:
        crc = format((int(crc, 16) ^ 0x1) & 0xFFFFFFFF, "08x")
    return "pul-" + head + crc


def assert_error_body(status: int, body: bytes) -> dict:
    try:
        doc = json.loads(body)
    except ValueError:
        raise AssertionError(f"error body is not JSON: {body[:300]!r}")
    assert isinstance(doc, dict), f"error body is not an object: {doc!r}"
    assert doc.get("code") == status, f"error body code {doc.get('code')!r} != {status}: {doc}"
    msg = doc.get("message")
    assert isinstance(msg, str) and msg.strip(), f"error body lacks a message: {doc}"
    return doc


def expect_status(status: int, fn: Callable, *args, check_body: bool = True, **kwargs) -> dict:
    """Call an SDK method and require it to fail with `status`; returns the error body."""
    try:
        result = fn(*args, **kwargs)
    except urllib.error.HTTPError as e:
        body = e.read()
        assert e.code == status, (
            f"{getattr(fn, '__name__', fn)}: expected HTTP {status}, got {e.code}: {body[:300]!r}")
        if check_body:
            return assert_error_body(status, body)
        return {}
    raise AssertionError(
        f"{getattr(fn, '__name__', fn)}: expected HTTP {status}, but the call succeeded "
        f"({result!r:.300})")


def expect_raw_status(status: int, resp: RawResponse) -> dict:
    assert resp.status == status, f"expected HTTP {status}, got {resp.status}: {resp.body[:300]!r}"
    return assert_error_body(status, resp.body)


def status_of(fn: Callable, *args, **kwargs) -> int:
    """The HTTP status a call ends with (200 when the SDK returned normally)."""
    try:
        fn(*args, **kwargs)
        return 200
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def poll_until(pred: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --------------------------------------------------------------------------- request builders

# UpdateOrganizationRequest's optional bool/int fields default to False/0 in the SDK (not
# None), so a request built with only one keyword would also send e.g.
# "setMembersCanCreateStacks": false. We null every field and set only what we mean.
_SETTINGS_FIELDS = [
    "set_default_stack_permission", "set_default_environment_permission",
    "set_default_account_permission", "set_members_can_create_stacks",
    "set_members_can_invite_collaborators", "set_members_can_delete_stacks",
    "set_members_can_transfer_stacks", "set_members_can_create_accounts",
    "set_members_can_create_teams", "set_ai_enablement", "set_neo_enabled",
    "set_neo_approval_mode", "set_neo_task_sharing_mode",
    "set_neo_cli_explanations_disabled", "set_natural_language_search_disabled",
    "set_neo_agent_disabled", "set_preferred_vcs", "set_default_deployment_role_id",
    "set_default_agent_pool_id", "set_max_access_token_expiry_days",
]


def settings_request(**kwargs) -> models.UpdateOrganizationRequest:
    args = {f: None for f in _SETTINGS_FIELDS}
    for k, v in kwargs.items():
        assert k in args, f"unknown settings field {k}"
        args[k] = v
    return models.UpdateOrganizationRequest(**args)


def patch_settings(api: Api, org: str, **kwargs) -> models.OrganizationMetadata:
    return api.orgs.update_organization_settings(org, settings_request(**kwargs))


def create_stack(api: Api, org: str, project: str, stack: str,
                 tags: Optional[dict] = None) -> None:
    api.orgs.create_stack(org, project, models.AppCreateStackRequest(stack_name=stack, tags=tags))


def create_team(api: Api, org: str, team: str, display: str = "", desc: str = "") -> models.Team:
    return api.orgs.create_pulumi_team(
        org, models.CreatePulumiTeamRequest(name=team, display_name=display or team,
                                            description=desc))


def team_member(api: Api, org: str, team: str, action: str, login: str) -> None:
    api.orgs.update_team(org, team, models.UpdateTeamRequest(
        member_action=models.MemberAction(action), member=login))


def grant_team_stack(api: Api, org: str, team: str, project: str, stack: str,
                     permission: int, edit: bool = False) -> None:
    perm = models.TeamStackPermission(project_name=project, stack_name=stack,
                                      permission=models.StackPermission(permission))
    req = (models.UpdateTeamRequest(edit_stack_permission=perm) if edit
           else models.UpdateTeamRequest(add_stack_permission=perm))
    api.orgs.update_team(org, team, req)


def remove_team_stack(api: Api, org: str, team: str, project: str, stack: str) -> None:
    api.orgs.update_team(org, team, models.UpdateTeamRequest(
        remove_stack=models.RemoveStackIdentifier(project_name=project, stack_name=stack)))


def create_org_token(api: Api, org: str, name: str, admin: bool,
                     expires: int = 0, description: str = "") -> models.CreateAccessTokenResponse:
    r = api.orgs.create_org_token(org, models.CreateOrgAccessTokenRequest(
        name=name, description=description or f"conformance {name}", expires=expires,
        admin=admin))
    assert_token_format(r.token_value)
    return r


def create_team_token(api: Api, org: str, team: str, name: str,
                      expires: int = 0) -> models.CreateAccessTokenResponse:
    r = api.orgs.create_team_token(org, team, models.CreateTeamAccessTokenRequest(
        name=name, description=f"conformance {name}", expires=expires))
    assert_token_format(r.token_value)
    return r


def create_personal_token(api: Api, expires: int = 0,
                          description: str = "conformance") -> models.CreateAccessTokenResponse:
    r = api.users.create_personal_token(
        models.CreatePersonalAccessTokenRequest(description=description, expires=expires))
    assert_token_format(r.token_value)
    return r


def add_member(api: Api, org: str, login: str, role: str = "member") -> models.OrganizationMember:
    return api.orgs.add_organization_member(
        org, login, models.AddOrganizationMemberRequest(role=models.OrganizationRole(role)))


def events_named(events: list, name: str) -> list:
    return [e for e in events if e.event == name]
