// tests/terraform/tfcheck.mjs: static checks of the Terraform tree, on the
// JSON that @cdktf/hcl2json makes of each .tf file.  Every check takes a
// list of parsed files ({ rel, dir, text, json }) and returns a list of
// problems (strings); an empty list means the check passed.  Used by
// terraform.test.mjs on terraform/ and on the negative fixtures.

import fs from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';

// ---------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------

// tfFiles(root): every .tf file under root, sorted, skipping .terraform/.
export function tfFiles(root) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.terraform') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.tf')) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

// loadTree(root): parse every .tf file; returns { files, errors }.
export async function loadTree(root) {
  const files = [];
  const errors = [];
  for (const p of tfFiles(root)) {
    const rel = path.relative(root, p);
    const text = fs.readFileSync(p, 'utf8');
    try {
      const json = await parse(rel, text);
      files.push({ path: p, rel, dir: path.dirname(rel), text, json });
    } catch (e) {
      errors.push(`${rel}: ${String(e.message || e).split('\n')[0]}`);
    }
  }
  return { files, errors };
}

// ---------------------------------------------------------------------
// Helpers over hcl2json output
// ---------------------------------------------------------------------

// blocks(files, kind, type): [{ file, type, name, body }] for
// resource/data blocks (kind "resource" or "data") of a given type, or of
// every type when type is null.
export function blocks(files, kind, type = null) {
  const out = [];
  for (const f of files) {
    const byType = f.json[kind] || {};
    for (const [t, byName] of Object.entries(byType)) {
      if (type !== null && t !== type) continue;
      for (const [name, bodies] of Object.entries(byName)) {
        for (const body of bodies) out.push({ file: f, type: t, name, body });
      }
    }
  }
  return out;
}

// named(files, kind): [{ file, name, body }] for variable/output/module.
export function named(files, kind) {
  const out = [];
  for (const f of files) {
    for (const [name, bodies] of Object.entries(f.json[kind] || {})) {
      for (const body of bodies) out.push({ file: f, name, body });
    }
  }
  return out;
}

const first = (v) => (Array.isArray(v) ? v[0] : v);
const asList = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

// refName(value, prefix): "aws_s3_bucket.lake" out of
// "${aws_s3_bucket.lake.id}" when prefix is "aws_s3_bucket"; null if value
// is not such a reference.
function refName(value, prefix) {
  if (typeof value !== 'string') return null;
  const m = value.match(new RegExp(`^\\$\\{${prefix}\\.([A-Za-z0-9_-]+)(\\.[A-Za-z0-9_]+)?\\}$`));
  return m ? m[1] : null;
}

// ---------------------------------------------------------------------
// 1. Variables: typed, described, validated
// ---------------------------------------------------------------------

// Types that need no validation block: booleans and free-form tag maps.
const NO_VALIDATION_NEEDED = new Set(['${bool}', '${map(string)}']);

export function checkVariables(files) {
  const problems = [];
  for (const v of named(files, 'variable')) {
    const where = `${v.file.rel}: variable "${v.name}"`;
    if (typeof v.body.type !== 'string' || v.body.type === '') problems.push(`${where} has no type`);
    if (typeof v.body.description !== 'string' || v.body.description.trim() === '')
      problems.push(`${where} has no description`);
    if (typeof v.body.type === 'string' && !NO_VALIDATION_NEEDED.has(v.body.type)) {
      const vals = asList(v.body.validation);
      if (vals.length === 0) problems.push(`${where} (type ${v.body.type}) has no validation`);
      for (const val of vals) {
        if (!val.condition || !val.error_message) problems.push(`${where} has a validation without condition or error_message`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------
// 2. Module sources pinned
// ---------------------------------------------------------------------

const EXACT_VERSION = /^\d+\.\d+\.\d+$/;
const REGISTRY_SOURCE = /^[A-Za-z0-9][A-Za-z0-9_-]*\/[A-Za-z0-9][A-Za-z0-9_-]*\/[A-Za-z0-9][A-Za-z0-9_-]*(\/\/.*)?$/;

// root is the folder the file paths are relative to (for local sources).
export function checkModuleSources(files, root) {
  const problems = [];
  for (const m of named(files, 'module')) {
    const where = `${m.file.rel}: module "${m.name}"`;
    const src = m.body.source;
    if (typeof src !== 'string') {
      problems.push(`${where} has no literal source`);
      continue;
    }
    if (src.startsWith('./') || src.startsWith('../')) {
      if (m.body.version !== undefined) problems.push(`${where}: local source ${src} must not have a version`);
      const target = path.resolve(root, m.file.dir, src);
      const inside = path.relative(root, target);
      if (inside.startsWith('..') || path.isAbsolute(inside)) {
        problems.push(`${where}: local source ${src} leaves the tree`);
      } else if (!fs.existsSync(target) || !fs.readdirSync(target).some((n) => n.endsWith('.tf'))) {
        problems.push(`${where}: local source ${src} has no .tf files`);
      }
    } else if (REGISTRY_SOURCE.test(src)) {
      if (typeof m.body.version !== 'string' || !EXACT_VERSION.test(m.body.version))
        problems.push(`${where}: registry source ${src} needs an exact version, got ${JSON.stringify(m.body.version)}`);
    } else if (!/[?&]ref=([0-9a-f]{40}|v?\d+\.\d+\.\d+)$/.test(src)) {
      problems.push(`${where}: source ${src} is neither local, registry, nor pinned with ?ref=<tag or commit>`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------
// 3. Providers pinned, required_version, per configuration folder
// ---------------------------------------------------------------------

const PINNED_PROVIDER = /^(=\s*)?\d+\.\d+\.\d+$|^~>\s*\d+\.\d+\.\d+$/;

export function checkProviders(files) {
  const problems = [];
  const dirs = new Map();
  for (const f of files) {
    if (!dirs.has(f.dir)) dirs.set(f.dir, []);
    dirs.get(f.dir).push(f);
  }
  for (const [dir, dfiles] of dirs) {
    const tblocks = dfiles.flatMap((f) => asList(f.json.terraform));
    const required = {};
    let requiredVersion = null;
    for (const t of tblocks) {
      if (typeof t.required_version === 'string') requiredVersion = t.required_version;
      for (const rp of asList(t.required_providers)) Object.assign(required, rp);
    }
    if (!requiredVersion) problems.push(`${dir}: no terraform.required_version`);
    else if (!/\d+\.\d+/.test(requiredVersion)) problems.push(`${dir}: required_version ${requiredVersion} names no version`);
    for (const [name, spec] of Object.entries(required)) {
      if (typeof spec !== 'object' || typeof spec.source !== 'string')
        problems.push(`${dir}: provider ${name} has no source`);
      else if (typeof spec.version !== 'string' || !PINNED_PROVIDER.test(spec.version.trim()))
        problems.push(`${dir}: provider ${name} version ${JSON.stringify(spec.version)} is not exact or ~> X.Y.Z`);
    }
    // Every provider a resource or data source uses must be declared.
    const used = new Set();
    for (const kind of ['resource', 'data']) {
      for (const b of blocks(dfiles, kind)) used.add(b.type.split('_')[0]);
    }
    used.delete('terraform'); // terraform_data / terraform_remote_state are built in
    for (const p of used) {
      if (!(p in required)) problems.push(`${dir}: provider ${p} is used but not in required_providers`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------
// 4. IAM policy statements
// ---------------------------------------------------------------------

// jsonencodeArg(value): the HCL text inside "${jsonencode( ... )}", or null.
function jsonencodeArg(value) {
  if (typeof value !== 'string') return null;
  const m = value.match(/^\$\{jsonencode\(([\s\S]*)\)\}$/);
  return m ? m[1] : null;
}

// Statements from one parsed policy object ({ Statement: ... }).
function jsonStatements(doc, where) {
  const out = [];
  for (const s of asList(doc && doc.Statement)) {
    if (typeof s !== 'object' || s === null) continue;
    out.push({
      where,
      sid: typeof s.Sid === 'string' ? s.Sid : null,
      effect: s.Effect || 'Allow',
      actions: asList(s.Action).map(String),
      notActions: asList(s.NotAction).map(String),
      resources: asList(s.Resource).map(String),
      notResources: asList(s.NotResource).map(String),
    });
  }
  return out;
}

// statements(files): every IAM statement found, from
// aws_iam_policy_document data sources (statement and dynamic statement
// blocks), jsonencode({...}) values and literal JSON strings with a
// Statement key, anywhere in resources, data sources or locals.
export async function statements(files) {
  const out = [];
  for (const d of blocks(files, 'data', 'aws_iam_policy_document')) {
    const base = `${d.file.rel}: data.aws_iam_policy_document.${d.name}`;
    const stmts = [...asList(d.body.statement)];
    for (const dyn of asList(d.body.dynamic && d.body.dynamic.statement)) stmts.push(...asList(dyn.content));
    for (const s of stmts) {
      out.push({
        where: base,
        file: d.file,
        sid: typeof s.sid === 'string' ? s.sid : null,
        effect: s.effect || 'Allow',
        actions: asList(s.actions).map(String),
        notActions: asList(s.not_actions).map(String),
        resources: asList(s.resources).map(String),
        notResources: asList(s.not_resources).map(String),
      });
    }
  }
  // Walk every value for jsonencode'd or literal JSON policies.
  const seen = [];
  const walk = (v, where, file) => {
    if (typeof v === 'string') {
      const arg = jsonencodeArg(v);
      if (arg !== null && /Statement/.test(arg)) seen.push({ kind: 'hcl', text: arg, where, file });
      else if (/^\s*\{[\s\S]*"Statement"[\s\S]*\}\s*$/.test(v)) seen.push({ kind: 'json', text: v, where, file });
    } else if (Array.isArray(v)) {
      v.forEach((x) => walk(x, where, file));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`, file);
    }
  };
  for (const f of files) {
    for (const kind of ['resource', 'data', 'locals', 'module', 'output']) {
      if (f.json[kind]) walk(f.json[kind], `${f.rel}: ${kind}`, f);
    }
  }
  for (const s of seen) {
    let doc;
    try {
      if (s.kind === 'json') doc = JSON.parse(s.text);
      else doc = (await parse('policy.tf', `policy_doc = ${s.text}\n`)).policy_doc;
    } catch (e) {
      out.push({ where: s.where, file: s.file, unparsable: String(e.message || e).split('\n')[0] });
      continue;
    }
    for (const st of jsonStatements(doc, s.where)) out.push({ ...st, file: s.file });
  }
  return out;
}

const isStar = (list) => list.includes('*');

// checkIamStatements(stmts): no Allow statement grants "*" actions (or
// NotAction) on "*" resources (or NotResource); every Allow on resource
// "*" has a Sid and a "# wildcard-resource <Sid>: <reason>" comment in its
// file.  Returns { problems, wildcards } (wildcards: the justified list).
export function checkIamStatements(stmts) {
  const problems = [];
  const wildcards = [];
  for (const s of stmts) {
    if (s.unparsable) {
      problems.push(`${s.where}: policy could not be parsed (${s.unparsable})`);
      continue;
    }
    if (s.effect !== 'Allow') continue;
    const allActions = isStar(s.actions) || s.notActions.length > 0;
    const allResources = isStar(s.resources) || s.notResources.length > 0;
    if (allActions && allResources) {
      problems.push(`${s.where}: statement ${s.sid || '(no sid)'} allows * actions on * resources`);
      continue;
    }
    if (isStar(s.resources)) {
      if (!s.sid) {
        problems.push(`${s.where}: statement with resource "*" has no sid to justify it by`);
        continue;
      }
      const re = new RegExp(`#\\s*wildcard-resource\\s+${s.sid.replace(/[^A-Za-z0-9]/g, '\\$&')}:\\s*\\S.{10,}`);
      const m = s.file.text.match(re);
      if (!m) problems.push(`${s.where}: statement ${s.sid} uses resource "*" without a "# wildcard-resource ${s.sid}: <reason>" comment`);
      else wildcards.push(`${s.where} ${s.sid}: ${m[0].replace(/^#\s*wildcard-resource\s+\S+:\s*/, '')}`);
    }
  }
  return { problems, wildcards };
}

// ---------------------------------------------------------------------
// 5. S3 bucket hardening
// ---------------------------------------------------------------------

// checkBucket(files, name): the aws_s3_bucket resource <name> has SSE-KMS
// with a key, versioning Enabled, the four public access block flags
// true, a bucket policy denying aws:SecureTransport=false for s3:* by
// everyone on the bucket and its objects, a lifecycle configuration and
// access logging.
export function checkBucket(files, name) {
  const problems = [];
  const where = `aws_s3_bucket.${name}`;
  if (blocks(files, 'resource', 'aws_s3_bucket').filter((b) => b.name === name).length !== 1)
    return [`${where}: no such bucket`];
  const forBucket = (type) =>
    blocks(files, 'resource', type).filter((b) => refName(b.body.bucket, 'aws_s3_bucket') === name);

  // Encryption
  const sse = forBucket('aws_s3_bucket_server_side_encryption_configuration');
  if (sse.length !== 1) problems.push(`${where}: expected one encryption configuration, found ${sse.length}`);
  for (const c of sse) {
    const rules = asList(c.body.rule);
    const defs = rules.flatMap((r) => asList(r.apply_server_side_encryption_by_default));
    if (defs.length === 0 || !defs.every((d) => d.sse_algorithm === 'aws:kms' && typeof d.kms_master_key_id === 'string' && d.kms_master_key_id !== ''))
      problems.push(`${where}: encryption is not SSE-KMS with a kms_master_key_id`);
  }

  // Versioning
  const ver = forBucket('aws_s3_bucket_versioning');
  if (ver.length !== 1) problems.push(`${where}: expected one versioning resource, found ${ver.length}`);
  for (const v of ver) {
    const conf = first(v.body.versioning_configuration) || {};
    if (conf.status !== 'Enabled') problems.push(`${where}: versioning status is ${JSON.stringify(conf.status)}, not "Enabled"`);
  }

  // Public access block
  const pab = forBucket('aws_s3_bucket_public_access_block');
  if (pab.length !== 1) problems.push(`${where}: expected one public access block, found ${pab.length}`);
  for (const p of pab) {
    for (const flag of ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets']) {
      if (p.body[flag] !== true) problems.push(`${where}: public access block ${flag} is not true`);
    }
  }

  // TLS-only policy
  const pol = forBucket('aws_s3_bucket_policy');
  if (pol.length !== 1) problems.push(`${where}: expected one bucket policy, found ${pol.length}`);
  for (const p of pol) {
    const doc = refName(p.body.policy, 'data\\.aws_iam_policy_document');
    const docs = blocks(files, 'data', 'aws_iam_policy_document').filter((d) => d.name === doc);
    if (!doc || docs.length !== 1) {
      problems.push(`${where}: bucket policy is not a data.aws_iam_policy_document (.json)`);
      continue;
    }
    const arn = `\${aws_s3_bucket.${name}.arn}`;
    const tlsDeny = asList(docs[0].body.statement).some(
      (s) =>
        s.effect === 'Deny' &&
        asList(s.actions).includes('s3:*') &&
        asList(s.resources).includes(arn) &&
        asList(s.resources).includes(`${arn}/*`) &&
        asList(s.principals).some((pr) => pr.type === '*' && asList(pr.identifiers).includes('*')) &&
        asList(s.condition).some(
          (c) => c.test === 'Bool' && c.variable === 'aws:SecureTransport' && asList(c.values).length === 1 && String(asList(c.values)[0]) === 'false',
        ),
    );
    if (!tlsDeny) problems.push(`${where}: bucket policy has no Deny of s3:* for everyone on the bucket and its objects when aws:SecureTransport is false`);
  }

  if (forBucket('aws_s3_bucket_lifecycle_configuration').length !== 1) problems.push(`${where}: no lifecycle configuration`);
  const logging = forBucket('aws_s3_bucket_logging');
  if (logging.length !== 1 || typeof logging[0].body.target_bucket !== 'string') problems.push(`${where}: no access logging`);
  return problems;
}

// ---------------------------------------------------------------------
// 6. Redshift
// ---------------------------------------------------------------------

// checkRedshift(moduleFiles, envFiles): every cluster is not publicly
// accessible, encrypted with a KMS key, in a subnet group built from
// var.private_subnet_ids; every module call of the warehouse module feeds
// it the network module's private subnets.
export function checkRedshift(moduleFiles, envFiles) {
  const problems = [];
  const clusters = blocks(moduleFiles, 'resource', 'aws_redshift_cluster');
  if (clusters.length === 0) problems.push('no aws_redshift_cluster');
  for (const c of clusters) {
    const where = `${c.file.rel}: aws_redshift_cluster.${c.name}`;
    if (c.body.publicly_accessible !== false) problems.push(`${where}: publicly_accessible is not false`);
    if (c.body.encrypted !== true) problems.push(`${where}: encrypted is not true`);
    if (typeof c.body.kms_key_id !== 'string') problems.push(`${where}: no kms_key_id`);
    const sg = refName(c.body.cluster_subnet_group_name, 'aws_redshift_subnet_group');
    const groups = blocks(moduleFiles, 'resource', 'aws_redshift_subnet_group').filter((g) => g.name === sg);
    if (!sg || groups.length !== 1) {
      problems.push(`${where}: cluster_subnet_group_name is not an aws_redshift_subnet_group of this module`);
    } else if (groups[0].body.subnet_ids !== '${var.private_subnet_ids}') {
      problems.push(`${where}: subnet group ${sg} is not made of var.private_subnet_ids`);
    }
  }
  const calls = named(envFiles, 'module').filter((m) => typeof m.body.source === 'string' && /modules\/warehouse$/.test(m.body.source));
  if (envFiles.length > 0 && calls.length === 0) problems.push('no environment calls the warehouse module');
  for (const m of calls) {
    const v = m.body.private_subnet_ids;
    if (typeof v !== 'string' || !/^\$\{module\.[A-Za-z0-9_-]+\.private_subnet_ids\}$/.test(v))
      problems.push(`${m.file.rel}: module "${m.name}" gets private_subnet_ids = ${JSON.stringify(v)}, not a network module's private_subnet_ids`);
  }
  return problems;
}

// ---------------------------------------------------------------------
// 7. ECR, 8. EKS IRSA, 9. state backend, 10. outputs
// ---------------------------------------------------------------------

export function checkEcr(files) {
  const problems = [];
  const repos = blocks(files, 'resource', 'aws_ecr_repository');
  if (repos.length === 0) problems.push('no aws_ecr_repository');
  for (const r of repos) {
    const where = `${r.file.rel}: aws_ecr_repository.${r.name}`;
    if (r.body.image_tag_mutability !== 'IMMUTABLE') problems.push(`${where}: image_tag_mutability is not IMMUTABLE`);
    const scan = first(r.body.image_scanning_configuration) || {};
    if (scan.scan_on_push !== true) problems.push(`${where}: scan_on_push is not true`);
  }
  return problems;
}

export function checkEksIrsa(files) {
  const problems = [];
  const eks = named(files, 'module').filter((m) => typeof m.body.source === 'string' && /^terraform-aws-modules\/eks\/aws$/.test(m.body.source));
  if (eks.length === 0) problems.push('no terraform-aws-modules/eks/aws module');
  for (const m of eks) {
    if (m.body.enable_irsa !== true) problems.push(`${m.file.rel}: module "${m.name}" does not set enable_irsa = true`);
  }
  return problems;
}

// checkBackend(envFiles): one S3 backend with encryption and locking
// (use_lockfile or a dynamodb_table).
export function checkBackend(envFiles) {
  const problems = [];
  const backends = envFiles.flatMap((f) => asList(f.json.terraform)).flatMap((t) => asList(t.backend && t.backend.s3));
  if (backends.length !== 1) return [`expected one s3 backend, found ${backends.length}`];
  const b = backends[0];
  if (b.encrypt !== true) problems.push('s3 backend: encrypt is not true');
  if (b.use_lockfile !== true && typeof b.dynamodb_table !== 'string') problems.push('s3 backend: no locking (use_lockfile or dynamodb_table)');
  if (typeof b.key !== 'string' || b.key === '') problems.push('s3 backend: no state key');
  return problems;
}

export function checkOutputs(files, wanted) {
  const problems = [];
  const outs = new Map(named(files, 'output').map((o) => [o.name, o]));
  for (const w of wanted) if (!outs.has(w)) problems.push(`missing output ${w}`);
  for (const o of outs.values()) {
    if (typeof o.body.description !== 'string' || o.body.description.trim() === '') problems.push(`${o.file.rel}: output "${o.name}" has no description`);
  }
  return problems;
}
