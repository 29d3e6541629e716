// Codacy's own generated v3 client (openapi-typescript-codegen, shipped in npm @codacy/codacy-mcp) drives
// every Codacy operation repotokensd serves against a real server, as a Codacy user's script would after
// changing only the base URL, checks each answer, and checks that unserved operations answer 501.
// Started by tests/integration/codacy_client_test.cc with:
//   REPOTOKENS_BASE   http://127.0.0.1:PORT          REPOTOKENS_ADMIN_TOKEN  an instance admin's api-token
//   REPOTOKENS_ROUTES the output of `repotokensd routes` (which operations are served)
//   REPOTOKENS_CAPTURE_DIR  optional: every exchange is appended there for tests/conformance/validate.py
// Exit 0 all good, 1 a check failed (the first failure is printed), 77 the client is not installed.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

const clientDir = new URL('./node_modules/@codacy/codacy-mcp/dist/src/api/client/', import.meta.url);
if (!existsSync(clientDir)) {
  console.log('skipped: @codacy/codacy-mcp is not installed (scripts/install-deps runs npm ci in tests/conformance/codacy-client)');
  process.exit(77);
}
const client = await import(new URL('index.js', clientDir));
const { OpenAPI } = await import(new URL('core/OpenAPI.js', clientDir));
const { AccountService, AnalysisService, CoverageService, HealthService, OrganizationService, PeopleService,
        RepositoryService, VersionService } = client;

const base = process.env.REPOTOKENS_BASE;
const admin = process.env.REPOTOKENS_ADMIN_TOKEN;
const served = new Set(readFileSync(process.env.REPOTOKENS_ROUTES, 'utf8').split('\n')
  .map((line) => line.split('\t')).filter((f) => f[0] === 'served' || f[0] === 'partial').map((f) => f[3]));

// Every exchange, the client's and ours, goes to the conformance capture as well.
let step = '(setup)';
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => {
  const response = await realFetch(url, init);
  if (process.env.REPOTOKENS_CAPTURE_DIR) {
    const u = new URL(url);
    const line = { test: `codacy-client:${step}`, method: init.method || 'GET', target: u.pathname + u.search,
                   status: response.status, contentType: response.headers.get('content-type') || '',
                   body: await response.clone().text() };
    appendFileSync(`${process.env.REPOTOKENS_CAPTURE_DIR}/codacy-client-${process.pid}.jsonl`, JSON.stringify(line) + '\n');
  }
  return response;
};
OpenAPI.BASE = `${base}/api/v3`;
OpenAPI.HEADERS = { 'api-token': admin };

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

// Our own calls (the repotokens extensions and the legacy upload): plain fetch, not Codacy operations.
async function ours(method, path, body, headers = { 'api-token': admin }) {
  const r = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers },
                                            body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  check(r.ok, `${method} ${path} answered ${r.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const run = Date.now().toString(36);
const org = `client-${run}`;
const sha = 'c0ffee'.padEnd(40, '0');
const email = `grace-${run}@example.com`;
const ctx = {};

// One step per Codacy operation, in an order where each finds what the earlier ones made.
const steps = [
  ['health', async () => check(typeof (await HealthService.health()) === 'object', 'health answers an object')],
  ['getVersion', async () => check(typeof (await VersionService.getVersion()).data === 'string', 'data is the version')],
  ['getUser', async () => check((await AccountService.getUser()).data.name === 'ada', 'data.name is the caller')],
  ['addOrganization', async () => {
    const r = await OrganizationService.addOrganization({ provider: 'gh', remoteIdentifier: `r-${run}`, name: org, type: 'Organization' });
    check(r.organization && r.organization.name === org, `organization.name is ${org}: ${JSON.stringify(r)}`);
  }],
  ['getOrganization', async () => {
    const r = await OrganizationService.getOrganization('gh', org);
    check(r.data.organization.name === org, 'data.organization.name');
  }],
  ['listUserOrganizations', async () => {
    check((await AccountService.listUserOrganizations()).data.some((o) => o.name === org), 'the new organization is listed');
  }],
  ['listOrganizations', async () => {
    check((await AccountService.listOrganizations('gh')).data.some((o) => o.name === org), 'listed under gh');
  }],
  ['addRepository', async () => {
    for (const name of ['api', 'web', 'gone']) {
      const r = await RepositoryService.addRepository({ provider: 'gh', repositoryFullPath: `${org}/${name}` });
      check(r.name === name, `a bare Repository named ${name}: ${JSON.stringify(r)}`);
    }
  }],
  ['listOrganizationRepositories', async () => {
    const names = (await OrganizationService.listOrganizationRepositories('gh', org)).data.map((r) => r.name);
    check(['api', 'web', 'gone'].every((n) => names.includes(n)), `all three listed: ${names}`);
  }],
  ['getRepository', async () => {
    check((await RepositoryService.getRepository('gh', org, 'api')).data.name === 'api', 'data.name');
  }],
  ['deleteRepository', async () => {
    await RepositoryService.deleteRepository('gh', org, 'gone');
    try {
      await RepositoryService.getRepository('gh', org, 'gone');
      check(false, 'a deleted repository is gone');
    } catch (e) {
      check(e.status === 404, `a deleted repository is a 404, not ${e.status}`);
    }
  }],
  ['createRepositoryApiToken', async () => {
    const r = await RepositoryService.createRepositoryApiToken('gh', org, 'api');
    check(r.data && r.data.token && Number.isInteger(r.data.id), 'data.id and data.token');
    ctx.repoToken = r.data;
  }],
  ['listRepositoryApiTokens', async () => {
    const r = await RepositoryService.listRepositoryApiTokens('gh', org, 'api');
    check(r.data.some((t) => t.id === ctx.repoToken.id), 'the new token is listed');
    check(!JSON.stringify(r).includes(ctx.repoToken.token), 'the list never carries the secret');
  }],
  ['listCoverageReports', async () => {
    const headers = { 'project-token': ctx.repoToken.token };
    const report = { fileReports: [{ filename: 'src/a.py', coverage: { 1: 1, 2: 0, 3: 2, 4: 1 } }] };
    await ours('POST', `/2.0/coverage/${sha}/python`, report, headers);
    await ours('POST', `/2.0/commit/${sha}/coverageFinal`, {}, headers);
    const r = await CoverageService.listCoverageReports('gh', org, 'api');
    check(r.data.lastReports.some((x) => x.commitSha === sha || x.targetCommitSha === sha),
          `the upload of ${sha} is among data.lastReports: ${JSON.stringify(r)}`);
  }],
  ['getCommit', async () => {
    const r = await AnalysisService.getCommit('gh', org, 'api', sha);
    check(r.coverage && r.coverage.totalCoveragePercentage === 75, `coverage.totalCoveragePercentage is 75: ${JSON.stringify(r)}`);
  }],
  ['getRepositoryWithAnalysis', async () => {
    const r = await AnalysisService.getRepositoryWithAnalysis('gh', org, 'api');
    check(r.data.repository.name === 'api', 'data.repository.name');
  }],
  ['addPeopleToOrganization', async () => {
    await ours('POST', '/api/v3/admin/users', { name: `grace-${run}`, email });
    await PeopleService.addPeopleToOrganization('gh', org, [email]);
  }],
  ['listPeopleFromOrganization', async () => {
    const people = (await PeopleService.listPeopleFromOrganization('gh', org)).data;
    check(people.length >= 1, `the admin who added the organization is a member: ${JSON.stringify(people)}`);
    if (served.has('addPeopleToOrganization'))
      check(people.some((p) => (p.emails || []).includes(email) || p.email === email), `${email} was added`);
  }],
  ['removePeopleFromOrganization', async () => {
    const r = await PeopleService.removePeopleFromOrganization('gh', org, { emails: [email] });
    check(JSON.stringify(r.success || []).includes(email), `${email} removed: ${JSON.stringify(r)}`);
  }],
  ['listAuditLogsForOrganization', async () => {
    const r = await OrganizationService.listAuditLogsForOrganization('gh', org);
    check(Array.isArray(r) && r.length > 0, `a bare, non-empty array of AuditLog: ${JSON.stringify(r).slice(0, 200)}`);
  }],
  ['deleteRepositoryApiToken', async () => {
    await RepositoryService.deleteRepositoryApiToken('gh', org, 'api', ctx.repoToken.id);
    const r = await RepositoryService.listRepositoryApiTokens('gh', org, 'api');
    check(!r.data.some((t) => t.id === ctx.repoToken.id), 'the deleted token is no longer listed');
  }],
  ['createUserApiToken', async () => {
    const r = await AccountService.createUserApiToken();
    check(r.token && Number.isInteger(r.id), `a bare ApiToken: ${Object.keys(r)}`);
    ctx.userToken = r;
  }],
  ['getUserApiTokens', async () => {
    check((await AccountService.getUserApiTokens()).data.some((t) => t.id === ctx.userToken.id), 'listed');
  }],
  ['deleteUserApiToken', async () => {
    await AccountService.deleteUserApiToken(ctx.userToken.id);
    check(!(await AccountService.getUserApiTokens()).data.some((t) => t.id === ctx.userToken.id), 'gone');
  }],
];

// Operations we do not serve, called the way the client calls them: each must be a 501 naming it.
const unserved = [
  ['listRepositoryBranches', () => RepositoryService.listRepositoryBranches('gh', org, 'api')],
  ['patchUser', () => AccountService.patchUser({ name: 'x' })],
  ['listRepositoryPullRequests', () => AnalysisService.listRepositoryPullRequests('gh', org, 'api')],
  ['deleteOrganization', () => OrganizationService.deleteOrganization('gh', org)],
  ['listRepositoryCommits', () => AnalysisService.listRepositoryCommits('gh', org, 'api')],
];

async function expect501(opId, call) {
  try {
    await call();
  } catch (e) {
    check(e.status === 501, `${opId} answered ${e.status}, not 501: ${JSON.stringify(e.body)}`);
    check(e.body && e.body.error === 'NotImplemented' && e.body.message === `repotokensd does not serve ${opId}`,
          `${opId}'s 501 names it: ${JSON.stringify(e.body)}`);
    return;
  }
  check(false, `${opId} succeeded, but repotokensd does not serve it`);
}

let driven = 0;
try {
  for (const [opId, body] of steps) {
    step = opId;
    if (served.has(opId)) {
      await body();
      driven += 1;
    } else {
      console.log(`${opId}: not served here, so its call must be a 501`);
      await expect501(opId, body);
    }
  }
  const undriven = [...served].filter((id) => !steps.some(([s]) => s === id));
  check(undriven.length === 0, `served Codacy operations this test does not drive: ${undriven.join(', ')}`);
  for (const [opId, call] of unserved) {
    step = opId;
    check(!served.has(opId), `${opId} is served now: drive it above instead`);
    await expect501(opId, call);
  }
} catch (e) {
  console.error(`codacy-client: step ${step}: ${e.message}${e.body ? ` (body: ${JSON.stringify(e.body)})` : ''}`);
  process.exit(1);
}
console.log(`codacy-client: ${driven} served operations driven by Codacy's client, ${unserved.length} unserved ones answered 501`);
