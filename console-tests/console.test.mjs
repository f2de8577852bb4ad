// Browser tests of the stackgate console (see run.sh). Node's built-in test runner,
// playwright-core driving Debian's Chromium headless. The subtests run in order and
// share the server's state.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL;
const ALICE_PW = process.env.ALICE_PW;
const BOB_PW = process.env.BOB_PW;
const SHOTS = process.env.SCREENSHOTS;
assert.ok(BASE && ALICE_PW && BOB_PW && SHOTS, "run through console-tests/run.sh");
mkdirSync(SHOTS, { recursive: true });

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
let browser;
let alice; // page of alice's context
let tokenValue;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    // Playwright gives every launch a fresh temporary --user-data-dir of its own.
  });
});

after(async () => {
  await browser?.close();
});

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Screenshots of `page` at desktop and phone width. */
async function shots(page, name) {
  await page.setViewportSize(DESKTOP);
  await shot(page, `${name}-desktop`);
  await page.setViewportSize(PHONE);
  await shot(page, `${name}-phone`);
  await page.setViewportSize(DESKTOP);
}

async function signIn(login, password) {
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: BASE });
  const page = await context.newPage();
  await page.goto("/console/login");
  await page.getByLabel("Login").fill(login);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/orgs\//);
  return page;
}

async function api(method, url, token, body) {
  const res = await fetch(BASE + url, {
    method,
    headers: { Authorization: `token ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.text() };
}

test("the console", async (t) => {
  await t.test("sign-in page, and a wrong password is refused in plain words", async () => {
    const context = await browser.newContext({ viewport: DESKTOP, baseURL: BASE });
    const page = await context.newPage();
    await page.goto("/");
    assert.match(page.url(), /\/console\/login$/);
    await shots(page, "01-sign-in");
    await page.getByLabel("Login").fill("alice");
    await page.getByLabel("Password").fill("definitely not it");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("The login or password is incorrect.").waitFor();
    await shots(page, "02-sign-in-failed");
    await context.close();
  });

  await t.test("sign in as the admin and see the overview", async () => {
    alice = await signIn("alice", ALICE_PW);
    await page_has(alice, "Signed in as");
    const cookies = await alice.context().cookies();
    const session = cookies.find((c) => c.name === "sg_session");
    assert.ok(session, "session cookie");
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Strict");
    assert.ok(!alice.url().includes(session.value));
    await shots(alice, "03-overview");
  });

  await t.test("create an Admin org token: warning, then the value once", async () => {
    await alice.goto("/console/orgs/acme/tokens");
    const warning = alice.locator("#admin-warning");
    assert.equal(await warning.isVisible(), false, "warning hidden until Admin is checked");
    await alice.getByLabel("Name", { exact: true }).fill("deploy-bot");
    await alice.getByLabel("Description").fill("CI deployments");
    await alice.getByLabel("Admin").check();
    assert.equal(await warning.isVisible(), true, "warning shown for Admin");
    assert.match(await warning.innerText(), /Elevated permissions/);
    await alice.getByLabel("Expires").selectOption("30");
    await shots(alice, "04-org-token-form-admin-warning");
    await alice.getByRole("button", { name: "Create token" }).click();
    await alice.getByRole("heading", { name: "Token created" }).waitFor();
    tokenValue = await alice.locator("#token-value").inputValue();
    assert.match(tokenValue, /^pul-[0-9a-f]{40}$/);
    assert.ok(!alice.url().includes(tokenValue), "value not in the URL");
    assert.match(await alice.locator(".created").innerText(), /elevated permissions/);
    assert.match(await alice.locator(".created").innerText(), /will not be shown again/);
    await alice.getByRole("button", { name: "Copy" }).click();
    await shots(alice, "05-org-token-created");
    // Never again: the list and a reload of the list do not show it.
    await alice.goto("/console/orgs/acme/tokens");
    assert.ok(!(await alice.content()).includes(tokenValue));
    await page_has(alice, "deploy-bot");
    await shots(alice, "06-org-tokens");
  });

  await t.test("the token's value works against the API to add a member", async () => {
    const res = await api("POST", "/api/orgs/acme/members/bob", tokenValue, { role: "member" });
    assert.equal(res.status, 200, res.body);
    await alice.goto("/console/orgs/acme/members");
    await page_has(alice, "bob");
    await shots(alice, "07-members");
  });

  await t.test("the audit log shows the action with the token's name", async () => {
    await alice.goto("/console/orgs/acme/audit?event=member-added");
    const row = alice.locator("tbody tr", { hasText: "bob" }).first();
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /member-added/);
    assert.match(text, /deploy-bot/);
    await shots(alice, "08-audit-filtered");
    await alice.goto("/console/orgs/acme/audit");
    await shots(alice, "09-audit");
    assert.ok(!(await alice.content()).includes(tokenValue));
  });

  await t.test("revoke the token with confirmation; the API refuses it", async () => {
    await alice.goto("/console/orgs/acme/tokens");
    await alice.getByRole("link", { name: "Revoke token deploy-bot" }).click();
    await alice.getByRole("heading", { name: "Revoke token" }).waitFor();
    await shots(alice, "10-revoke-confirm");
    await alice.getByRole("button", { name: "Revoke token" }).click();
    await page_has(alice, "The token was revoked");
    await shots(alice, "11-revoked");
    const res = await api("GET", "/api/orgs/acme/members", tokenValue);
    assert.equal(res.status, 401, res.body);
  });

  await t.test("posts without the CSRF token are refused", async () => {
    const res = await alice.context().request.post(`${BASE}/console/orgs/acme/members/add`, {
      form: { login: "bob", role: "admin" },
      maxRedirects: 0,
    });
    assert.equal(res.status(), 403);
    assert.match(await res.text(), /did not come from this site/);
    // The same from inside the page, as a cross-site form would.
    await alice.goto("/console/orgs/acme/members");
    await Promise.all([
      alice.waitForNavigation(),
      alice.evaluate(() => {
        const f = document.createElement("form");
        f.method = "post";
        f.action = "/console/orgs/acme/members/bob/role";
        const role = document.createElement("input");
        role.name = "role";
        role.value = "admin";
        f.append(role);
        document.body.append(f);
        f.submit();
      }),
    ]);
    await page_has(alice, "did not come from this site");
    await shots(alice, "12-csrf-refused");
  });

  await t.test("every admin page renders (screenshots, desktop and phone)", async () => {
    const pages = [
      ["13-teams", "/console/orgs/acme/teams"],
      ["14-team", "/console/orgs/acme/teams/platform"],
      ["15-stacks", "/console/orgs/acme/stacks"],
      ["16-stacks-search", "/console/orgs/acme/stacks?q=prod&tag=env"],
      ["17-stack", "/console/orgs/acme/stacks/website/production"],
      ["18-settings", "/console/orgs/acme/settings"],
      ["19-personal-tokens", "/console/tokens"],
      ["20-remove-member-confirm", "/console/orgs/acme/members/bob/remove"],
      ["21-delete-stack-confirm", "/console/orgs/acme/stacks/website/staging/delete"],
      ["22-not-found", "/console/orgs/no-such-org"],
      ["23-other-org", "/console/orgs/globex"],
    ];
    for (const [name, url] of pages) {
      const res = await alice.goto(url);
      const want = name === "22-not-found" ? 404 : 200;
      assert.equal(res.status(), want, url);
      await shots(alice, name);
    }
    // Keyboard: the skip link is the first stop and every field has a label.
    await alice.goto("/console/orgs/acme/teams/platform");
    await alice.keyboard.press("Tab");
    assert.equal(await alice.evaluate(() => document.activeElement.textContent), "Skip to content");
    const unlabeled = await alice.evaluate(() =>
      [...document.querySelectorAll("input:not([type=hidden]), select")]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
        .map((el) => el.name));
    assert.deepEqual(unlabeled, []);
  });

  await t.test("a stack's update history and an update's log (text, never markup)", async () => {
    let dialogs = 0;
    alice.on("dialog", (d) => { dialogs += 1; d.dismiss(); });
    await alice.goto("/console/orgs/acme/stacks");
    const listed = alice.locator("tbody tr", { hasText: "website/production" });
    assert.match(await listed.locator("td[data-label='Last update']").innerText(), /UTC$/);
    assert.equal(await listed.locator("td[data-label='Resources']").innerText(), "2");
    const staging = alice.locator("tbody tr", { hasText: "website/staging" });
    assert.equal(await staging.locator("td[data-label='Last update']").innerText(), "never");
    await alice.goto("/console/orgs/acme/stacks/website/production");
    const rows = alice.locator("#history tbody tr");
    assert.equal(await rows.count(), 1);
    const row = await rows.first().innerText();
    for (const want of [/succeeded/, /2 create/, /alice/, /Deploy the <b>new<\/b> landing page/]) {
      assert.match(row, want);
    }
    assert.equal(await alice.locator("#history .badge.token").count(), 0, "alice is not a token");
    await shots(alice, "31-stack-history");
    await alice.getByRole("link", { name: "Update 1" }).click();
    await alice.getByRole("heading", { name: "website/production: update 1" }).waitFor();
    const log = await alice.locator("pre.log").innerText();
    assert.match(log, /^Updating \(production\)$/m);
    assert.match(log, /^create: urn:pulumi:production::website::aws:s3\/bucket:Bucket::site$/m);
    assert.match(log, /^warning: .*public bucket <script>alert\(1\)<\/script>$/m);
    assert.match(log, /^Resources: 2 create\. Duration: 2s\.$/m);
    assert.ok(!log.includes("\u001b") && !log.includes("<{%"), "colour codes dropped");
    assert.equal(await alice.locator("main script, main b").count(), 0, "event text is not markup");
    assert.equal(dialogs, 0);
    await shots(alice, "32-update-log");
  });

  await t.test("create a team token and a personal token; values shown once", async () => {
    await alice.goto("/console/orgs/acme/teams/platform");
    await alice.getByLabel("Name", { exact: true }).fill("platform-ci");
    await alice.getByRole("button", { name: "Create team token" }).click();
    await alice.getByRole("heading", { name: "Token created" }).waitFor();
    const v = await alice.locator("#token-value").inputValue();
    assert.match(v, /^pul-[0-9a-f]{40}$/);
    await shots(alice, "24-team-token-created");
    await alice.goto("/console/orgs/acme/teams/platform");
    assert.ok(!(await alice.content()).includes(v));
    await alice.goto("/console/tokens");
    await alice.getByLabel("Description").fill("laptop");
    await alice.getByRole("button", { name: "Create token" }).click();
    await alice.getByRole("heading", { name: "Token created" }).waitFor();
    await shots(alice, "25-personal-token-created");
  });

  await t.test("org settings: a maximum token lifetime limits the expiry picker", async () => {
    await alice.goto("/console/orgs/acme/settings");
    await alice.getByLabel(/Maximum token lifetime/).fill("30");
    await alice.getByRole("button", { name: "Save settings" }).click();
    await page_has(alice, "Saved.");
    await alice.goto("/console/orgs/acme/tokens");
    const values = await alice.locator("#expires_days option").evaluateAll((os) => os.map((o) => o.value));
    assert.ok(values.length > 0);
    assert.ok(!values.includes("0"), "no 'never' under a maximum");
    assert.ok(values.every((v) => Number(v) <= 30), values.join(","));
    await page_has(alice, "expire within 30 days");
    await shots(alice, "30-org-tokens-with-maximum");
    await alice.goto("/console/orgs/acme/settings");
    await alice.getByLabel(/Maximum token lifetime/).fill("");
    await alice.getByRole("button", { name: "Save settings" }).click();
    await page_has(alice, "Saved.");
  });

  await t.test("a member sees no admin controls and is refused when posting anyway", async () => {
    const bob = await signIn("bob", BOB_PW);
    await bob.goto("/console/orgs/acme/members");
    assert.equal(await bob.getByText("Add an existing user").count(), 0);
    assert.equal(await bob.getByRole("link", { name: "Remove" }).count(), 0);
    assert.equal(await bob.getByRole("link", { name: "Audit log" }).count(), 0);
    assert.equal(await bob.getByRole("link", { name: "Settings" }).count(), 0);
    await shots(bob, "26-member-members");
    await bob.goto("/console/orgs/acme/tokens");
    assert.equal(await bob.locator("#new-org-token").count(), 0);
    await shots(bob, "27-member-tokens");
    const res = await bob.goto("/console/orgs/acme/audit");
    assert.equal(res.status(), 403);
    await shots(bob, "28-member-audit-refused");
    // Post the admin form anyway, with bob's own valid CSRF token.
    await bob.goto("/console/orgs/acme/members");
    const [nav] = await Promise.all([
      bob.waitForNavigation(),
      bob.evaluate(() => {
        const csrf = document.querySelector("input[name=csrf]").value;
        const f = document.createElement("form");
        f.method = "post";
        f.action = "/console/orgs/acme/members/add";
        for (const [k, v] of [["csrf", csrf], ["login", "bob"], ["role", "admin"]]) {
          const i = document.createElement("input");
          i.name = k;
          i.value = v;
          f.append(i);
        }
        document.body.append(f);
        f.submit();
      }),
    ]);
    assert.equal(nav.status(), 403);
    await page_has(bob, "You do not have permission");
    await shots(bob, "29-member-forged-post-refused");
    // The refusal is in the audit log, as for the API.
    await alice.goto("/console/orgs/acme/audit?event=auth-failure-organization-role&user=bob");
    await alice.locator("tbody tr", { hasText: "bob" }).first().waitFor();
    await bob.context().close();
  });

  await t.test("sign out ends the session", async () => {
    await alice.getByRole("button", { name: "Sign out" }).click();
    await alice.waitForURL(/\/console\/login$/);
    await alice.goto("/console/orgs/acme");
    assert.match(alice.url(), /\/console\/login$/);
    await alice.context().close();
  });
});

async function page_has(page, text) {
  await page.getByText(text).first().waitFor({ timeout: 5000 });
}
