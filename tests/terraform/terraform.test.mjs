// tests/terraform/terraform.test.mjs: static checks of terraform/ (no
// terraform init/validate/plan: the provider registry is not reachable
// where these run).  Each check runs once on the real tree, where it must
// pass, and once on a negative fixture, where it must report the exact
// problems planted there, so a check that cannot fail would be noticed.
// Flat top-level tests only: the automake TAP driver then sees one result
// line per test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import * as tc from './tfcheck.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const srcdir = process.env.STA_SRCDIR || path.resolve(here, '..', '..');
const TF = path.join(srcdir, 'terraform');
const FIX = path.join(here, 'fixtures');

const tree = await tc.loadTree(TF);
const bad = await tc.loadTree(path.join(FIX, 'bad'));
const broken = await tc.loadTree(path.join(FIX, 'unparsable'));

const inDir = (files, prefix) => files.filter((f) => f.rel === prefix || f.rel.startsWith(prefix + path.sep));
const ENVS = ['dev', 'prod'];
const MODULES = ['network', 'eks', 'lake', 'warehouse', 'iam', 'ecr'];

// expectAll(problems, needles): every needle matches at least one problem.
function expectAll(problems, needles) {
  for (const n of needles) {
    assert.ok(
      problems.some((p) => (n instanceof RegExp ? n.test(p) : p.includes(n))),
      `expected a problem matching ${n}; got:\n  ${problems.join('\n  ')}`,
    );
  }
}

test('every .tf file under terraform/ parses with hcl2json', () => {
  assert.deepEqual(tree.errors, []);
  const expected = tc.tfFiles(TF).length;
  assert.equal(tree.files.length, expected);
  // 6 modules x 4 files + 2 environments x 4 files
  assert.ok(tree.files.length >= 32, `only ${tree.files.length} .tf files`);
  for (const m of MODULES) {
    for (const f of ['versions.tf', 'variables.tf', 'main.tf', 'outputs.tf']) {
      assert.ok(tree.files.some((x) => x.rel === path.join('modules', m, f)), `modules/${m}/${f} missing`);
    }
    assert.ok(fs.existsSync(path.join(TF, 'modules', m, 'README.md')), `modules/${m}/README.md missing`);
  }
});

test('parse check rejects the unparsable fixture', () => {
  assert.equal(broken.files.length, 0);
  assert.equal(broken.errors.length, 1);
  assert.match(broken.errors[0], /broken\.tf/);
});

test('variables are typed, described and validated', () => {
  const vars = tc.named(tree.files, 'variable');
  assert.ok(vars.length >= 60, `only ${vars.length} variables`);
  assert.deepEqual(tc.checkVariables(tree.files), []);
});

test('variable check rejects untyped, undescribed and unvalidated variables', () => {
  const p = tc.checkVariables(bad.files);
  expectAll(p, ['variable "untyped" has no type', 'variable "undescribed" has no description', 'variable "unvalidated" (type ${string}) has no validation']);
  assert.equal(p.length, 3, p.join('\n'));
});

test('module sources are pinned: registry modules exact, local ones by path', () => {
  assert.deepEqual(tc.checkModuleSources(tree.files, TF), []);
  const calls = tc.named(tree.files, 'module');
  const vpc = calls.filter((m) => m.body.source === 'terraform-aws-modules/vpc/aws');
  const eks = calls.filter((m) => m.body.source === 'terraform-aws-modules/eks/aws');
  assert.equal(vpc.length, 1);
  assert.equal(eks.length, 1);
  assert.match(vpc[0].body.version, /^5\.\d+\.\d+$/);
  assert.match(eks[0].body.version, /^20\.\d+\.\d+$/);
  // v21 renamed the cluster_* inputs (docs/UPGRADE-21.0.md of the module);
  // a 20.x pin must use the old names.
  for (const a of ['cluster_name', 'cluster_version', 'cluster_addons', 'cluster_encryption_config', 'cluster_enabled_log_types'])
    assert.ok(a in eks[0].body, `eks module: ${a} missing`);
  for (const a of ['name', 'kubernetes_version', 'addons', 'encryption_config', 'enabled_log_types', 'endpoint_public_access'])
    assert.ok(!(a in eks[0].body), `eks module: v21 input ${a} used with a v20 pin`);
  for (const env of ENVS) {
    const local = calls.filter((m) => m.file.dir === path.join('environments', env));
    assert.deepEqual(local.map((m) => m.body.source).sort(), MODULES.map((m) => `../../modules/${m}`).sort());
  }
});

test('module source check rejects unpinned, ranged and dangling sources', () => {
  const p = tc.checkModuleSources(bad.files, path.join(FIX, 'bad'));
  expectAll(p, ['module "unpinned": registry source', 'module "ranged": registry source', /module "warehouse": local source .* (leaves the tree|has no \.tf files)/]);
  assert.equal(p.length, 3, p.join('\n'));
});

test('providers are pinned (exact or ~> X.Y.Z) with a required_version in every configuration', () => {
  assert.deepEqual(tc.checkProviders(tree.files), []);
  // Each module and environment folder declares aws.
  const dirs = new Set(tree.files.map((f) => f.dir));
  assert.equal(dirs.size, MODULES.length + ENVS.length);
  for (const d of dirs) {
    const aws = tree.files
      .filter((f) => f.dir === d)
      .flatMap((f) => f.json.terraform || [])
      .flatMap((t) => t.required_providers || [])
      .find((rp) => rp.aws);
    assert.ok(aws, `${d} does not declare the aws provider`);
  }
});

test('provider check rejects ranges, a missing required_version and undeclared providers', () => {
  const p = tc.checkProviders(bad.files);
  expectAll(p, ['no terraform.required_version', 'provider aws version ">= 5.0"', 'provider random is used but not in required_providers']);
  assert.equal(p.length, 3, p.join('\n'));
});

test('lake bucket: SSE-KMS, versioning, public access blocked, TLS-only, lifecycle, logging', () => {
  const lake = inDir(tree.files, path.join('modules', 'lake'));
  assert.deepEqual(tc.checkBucket(lake, 'lake'), []);
  // The key the bucket uses rotates.
  const keys = tc.blocks(lake, 'resource', 'aws_kms_key');
  assert.equal(keys.length, 1);
  assert.equal(keys[0].body.enable_key_rotation, true);
});

test('bucket check rejects AES256, suspended versioning, an open flag and a policy without the TLS deny', () => {
  const p = tc.checkBucket(bad.files, 'lake');
  expectAll(p, [
    'encryption is not SSE-KMS',
    'versioning status is "Suspended"',
    'block_public_policy is not true',
    'aws:SecureTransport is false',
    'no lifecycle configuration',
    'no access logging',
  ]);
  assert.equal(p.length, 6, p.join('\n'));
  assert.deepEqual(tc.checkBucket(bad.files, 'nonexistent'), ['aws_s3_bucket.nonexistent: no such bucket']);
});

test('no IAM statement allows * on *; every * resource is justified in a comment', async () => {
  const stmts = await tc.statements(tree.files);
  assert.ok(stmts.length >= 20, `only ${stmts.length} statements found`);
  const { problems, wildcards } = tc.checkIamStatements(stmts);
  assert.deepEqual(problems, []);
  // Every justification comment belongs to a statement that uses "*".
  const comments = tree.files.flatMap((f) => f.text.match(/#\s*wildcard-resource\s+\S+:/g) || []);
  assert.equal(wildcards.length, comments.length);
  for (const w of wildcards) console.log(`wildcard resource: ${w.split('\n')[0]}`);
});

test('IAM check rejects * on * (policy document and jsonencode) and an unjustified * resource', async () => {
  const stmts = await tc.statements(bad.files);
  const { problems } = tc.checkIamStatements(stmts);
  expectAll(problems, [
    'statement Everything allows * actions on * resources',
    'statement JsonEverything allows * actions on * resources',
    'statement Unjustified uses resource "*" without',
  ]);
  assert.equal(problems.length, 3, problems.join('\n'));
});

test('IAM roles: IRSA trust is limited to the sta/sta-runner and sta/sta-task service accounts', () => {
  const iam = inDir(tree.files, path.join('modules', 'iam'));
  const vars = Object.fromEntries(tc.named(iam, 'variable').map((v) => [v.name, v.body.default]));
  assert.equal(vars.namespace, 'sta');
  assert.equal(vars.runner_service_account, 'sta-runner');
  assert.equal(vars.task_service_account, 'sta-task');
  const trust = tc.blocks(iam, 'data', 'aws_iam_policy_document').find((d) => d.name === 'trust');
  const st = trust.body.statement[0];
  assert.deepEqual(st.actions, ['sts:AssumeRoleWithWebIdentity']);
  const sub = st.condition.find((c) => /:sub$/.test(c.variable));
  const aud = st.condition.find((c) => /:aud$/.test(c.variable));
  assert.equal(sub.test, 'StringEquals');
  assert.deepEqual(sub.values, ['system:serviceaccount:${var.namespace}:${each.value}']);
  assert.deepEqual(aud.values, ['sts.amazonaws.com']);
  // Object access is confined to the export and log prefixes.
  const objs = tc
    .blocks(iam, 'data', 'aws_iam_policy_document')
    .filter((d) => d.name !== 'trust')
    .flatMap((d) => d.body.statement)
    .flatMap((s) => s.resources)
    .filter((r) => r.startsWith('${var.lake_bucket_arn}/'));
  assert.ok(objs.length >= 3);
  for (const r of objs) assert.match(r, /^\$\{var\.lake_bucket_arn\}\/\$\{local\.(export|log)_prefix\}\/\*$/);
});

test('Redshift: not publicly accessible, encrypted, in a subnet group of the private subnets', () => {
  const wh = inDir(tree.files, path.join('modules', 'warehouse'));
  const envs = inDir(tree.files, 'environments');
  assert.deepEqual(tc.checkRedshift(wh, envs), []);
  assert.equal(tc.blocks(wh, 'resource', 'aws_redshift_cluster').length, 1);
});

test('Redshift check rejects a public, unencrypted cluster on public subnets', () => {
  const p = tc.checkRedshift(bad.files, bad.files);
  expectAll(p, ['publicly_accessible is not false', 'encrypted is not true', 'no kms_key_id', 'is not made of var.private_subnet_ids', 'module "warehouse" gets private_subnet_ids']);
  assert.equal(p.length, 5, p.join('\n'));
});

test('ECR: scan on push and immutable tags', () => {
  assert.deepEqual(tc.checkEcr(tree.files), []);
});

test('ECR check rejects mutable tags and no scan on push', () => {
  const p = tc.checkEcr(bad.files);
  expectAll(p, ['image_tag_mutability is not IMMUTABLE', 'scan_on_push is not true']);
  assert.equal(p.length, 2, p.join('\n'));
});

test('EKS: the community module has IRSA enabled', () => {
  assert.deepEqual(tc.checkEksIrsa(tree.files), []);
});

test('EKS check rejects enable_irsa = false', () => {
  assert.deepEqual(tc.checkEksIrsa(bad.files), ['main.tf: module "ranged" does not set enable_irsa = true']);
});

test('environments: encrypted S3 state with S3-native locking, distinct keys', () => {
  const keys = [];
  for (const env of ENVS) {
    const files = inDir(tree.files, path.join('environments', env));
    assert.deepEqual(tc.checkBackend(files), []);
    const b = files.flatMap((f) => f.json.terraform || []).find((t) => t.backend).backend.s3[0];
    assert.equal(b.use_lockfile, true);
    keys.push(b.key);
  }
  assert.equal(new Set(keys).size, ENVS.length);
});

test('backend check rejects an unencrypted, unlocked state', () => {
  const p = tc.checkBackend(bad.files);
  expectAll(p, ['encrypt is not true', 'no locking']);
  assert.equal(p.length, 2, p.join('\n'));
});

const WANTED_OUTPUTS = [
  'lake_uri', 'lake_bucket', 'lake_prefix', 'runner_role_arn', 'task_role_arn',
  'cluster_name', 'cluster_endpoint', 'ecr_repository_urls', 'redshift_endpoint', 'redshift_copy_role_arn',
];

test('environments output what the k8s overlays and the runner need', () => {
  for (const env of ENVS) assert.deepEqual(tc.checkOutputs(inDir(tree.files, path.join('environments', env)), WANTED_OUTPUTS), []);
  for (const m of MODULES) assert.deepEqual(tc.checkOutputs(inDir(tree.files, path.join('modules', m)), []), []);
  const lakeUri = tc.named(inDir(tree.files, path.join('modules', 'lake')), 'output').find((o) => o.name === 'lake_uri');
  assert.equal(lakeUri.body.value, 's3://${aws_s3_bucket.lake.id}/${var.prefix}');
});

test('output check rejects missing and undescribed outputs', () => {
  const p = tc.checkOutputs(bad.files, ['lake_uri']);
  expectAll(p, ['missing output lake_uri', 'output "undescribed" has no description']);
  assert.equal(p.length, 2, p.join('\n'));
});

test('module wiring: arguments match module variables, module.X.Y references match outputs', () => {
  const problems = [];
  for (const env of ENVS) {
    const envDir = path.join('environments', env);
    const files = inDir(tree.files, envDir);
    const calls = new Map(tc.named(files, 'module').map((m) => [m.name, m]));
    const iface = (m) => {
      const dir = path.normalize(path.join(envDir, m.body.source));
      const mf = inDir(tree.files, dir);
      return {
        vars: new Map(tc.named(mf, 'variable').map((v) => [v.name, v.body])),
        outs: new Set(tc.named(mf, 'output').map((o) => o.name)),
      };
    };
    for (const m of calls.values()) {
      const { vars } = iface(m);
      assert.ok(vars.size > 0, `${m.name}: no variables found`);
      for (const arg of Object.keys(m.body)) {
        if (['source', 'version', 'providers', 'depends_on', 'count', 'for_each'].includes(arg)) continue;
        if (!vars.has(arg)) problems.push(`${envDir}: module ${m.name} passes unknown ${arg}`);
      }
      for (const [name, body] of vars) {
        if (!('default' in body) && !(name in m.body)) problems.push(`${envDir}: module ${m.name} misses required ${name}`);
      }
    }
    const refs = files.flatMap((f) => [...f.text.matchAll(/module\.([a-z_]+)\.([a-z_]+)/g)]);
    assert.ok(refs.length >= 20);
    for (const [, mod, out] of refs) {
      if (!calls.has(mod)) problems.push(`${envDir}: reference to unknown module ${mod}`);
      else if (!iface(calls.get(mod)).outs.has(out)) problems.push(`${envDir}: module.${mod}.${out} is not an output`);
    }
  }
  assert.deepEqual(problems, []);
});

test('dev and prod share main.tf, variables.tf and outputs.tf; tfvars set exactly declared variables', async () => {
  for (const f of ['main.tf', 'variables.tf', 'outputs.tf']) {
    const a = fs.readFileSync(path.join(TF, 'environments', 'dev', f), 'utf8');
    const b = fs.readFileSync(path.join(TF, 'environments', 'prod', f), 'utf8');
    assert.equal(a, b, `${f} differs between dev and prod`);
  }
  for (const env of ENVS) {
    const vars = new Map(tc.named(inDir(tree.files, path.join('environments', env)), 'variable').map((v) => [v.name, v.body]));
    const tfvars = await parse('terraform.tfvars', fs.readFileSync(path.join(TF, 'environments', env, 'terraform.tfvars'), 'utf8'));
    for (const k of Object.keys(tfvars)) assert.ok(vars.has(k), `${env}: tfvars sets undeclared ${k}`);
    for (const [name, body] of vars) {
      if (!('default' in body)) assert.ok(name in tfvars, `${env}: tfvars misses ${name}`);
    }
    assert.equal(tfvars.environment, env);
    for (const g of Object.values(tfvars.node_groups)) {
      const [grp] = Array.isArray(g) ? g : [g];
      assert.ok(grp.min_size <= grp.desired_size && grp.desired_size <= grp.max_size, `${env}: node group bounds`);
    }
  }
});

test('terraform fmt -check (only where a terraform binary is on PATH)', (t) => {
  const probe = spawnSync('terraform', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    t.skip('no terraform binary');
    return;
  }
  const r = spawnSync('terraform', ['fmt', '-check', '-recursive', TF], { encoding: 'utf8' });
  assert.equal(r.status, 0, `terraform fmt would change:\n${r.stdout}${r.stderr}`);
});
