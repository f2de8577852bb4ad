"""Fixtures for the stackgate conformance suite.

One real `stackgate serve` runs for the whole session on a fresh SQLite file; tests that
need to stop and restart a server get their own (see `fresh_server`). Every test makes its
own orgs and users with unique names, so tests do not depend on each other's data.
"""

from __future__ import annotations

from typing import Callable, Optional

import pytest

from harness import Api, Org, StackgateServer, User, add_member, uid


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> StackgateServer:
    srv = StackgateServer(tmp_path_factory.mktemp("stackgate"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def fresh_server(tmp_path_factory) -> StackgateServer:
    """A server of its own (own database), for tests that stop and restart it."""
    srv = StackgateServer(tmp_path_factory.mktemp("stackgate-own"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def api_for(server) -> Callable[[Optional[str]], Api]:
    """Build an official-SDK API bundle for a token value (None = no Authorization)."""
    return lambda token: Api(server.url, token)


@pytest.fixture
def new_org(server) -> Callable[..., Org]:
    """`stackgate init` a new org with a new admin user (site admin)."""

    def make(prefix: str = "org", admin_login: Optional[str] = None,
             email: Optional[str] = None) -> Org:
        name = f"{prefix}-{uid()}"
        login = admin_login or f"admin-{uid()}"
        token = server.init_org(name, login, email=email)
        return Org(name=name, admin_login=login, admin_token=token, admin=Api(server.url, token))

    return make


@pytest.fixture
def new_user(server) -> Callable[..., User]:
    """`stackgate user create` a new user (member of nothing)."""

    def make(prefix: str = "user", email: Optional[str] = None,
             name: Optional[str] = None) -> User:
        login = f"{prefix}-{uid()}"
        token = server.create_user(login, email=email, name=name)
        return User(login=login, token=token, api=Api(server.url, token))

    return make


@pytest.fixture
def new_member(new_user) -> Callable[..., User]:
    """A new user added to `org` with `role` by the org's admin."""

    def make(org: Org, role: str = "member") -> User:
        u = new_user()
        add_member(org.admin, org.name, u.login, role)
        return u

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of the server log to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for name in ("fresh_server", "server"):
            srv = item.funcargs.get(name) if hasattr(item, "funcargs") else None
            if isinstance(srv, StackgateServer):
                rep.sections.append((f"stackgate log ({name})", srv.log_tail(30)))
                break


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    terminalreporter.write_line("")
    terminalreporter.write_line(f"conformance: {passed} passed, {failed} failed")
