#!/usr/bin/env node
// k8s_validate.mjs: checks Kubernetes objects against the API's OpenAPI
// schema, through the validators npm kubernetes-models generates from it.
//
//   node tests/fakes/k8s_validate.mjs [FILE|-]
//
// FILE (or stdin) holds a JSON array of objects.  Each object's model is
// chosen by its apiVersion and kind (core v1, apps/v1, batch/v1,
// rbac.authorization.k8s.io/v1, networking.k8s.io/v1, policy/v1,
// coordination.k8s.io/v1 and every other built-in group the package has);
// one line is printed per object:
//
//   ok KIND NAME
//   invalid KIND NAME: PATH: MESSAGE[; PATH: MESSAGE...]
//
// An apiVersion/kind without a model is invalid, never passed.  Exit 0
// when every object is valid, 1 when one is not, 2 when the input cannot
// be read.  Limits: the schema knows types, formats (quantities,
// date-times, int32/int64), enums and required fields; it does not reject
// unknown fields, and the API server's own validation (name formats,
// label syntax, immutable fields) is not in it.
import { readFileSync } from "node:fs";

const VERSION = /^(?:([a-z0-9]+(?:[.-][a-z0-9]+)*)\/)?(v[0-9]+(?:(?:alpha|beta)[0-9]+)?)$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

// The model class for apiVersion/kind, or null when the package has none.
async function model(apiVersion, kind) {
  const m = typeof apiVersion === "string" ? VERSION.exec(apiVersion) : null;
  if (m === null || typeof kind !== "string" || !KIND.test(kind)) return null;
  const spec = m[1] ? `kubernetes-models/${m[1]}/${m[2]}/${kind}` : `kubernetes-models/${m[2]}/${kind}`;
  let mod;
  try {
    mod = await import(spec);
  } catch (e) {
    if (e.code === "ERR_PACKAGE_PATH_NOT_EXPORTED" || e.code === "ERR_MODULE_NOT_FOUND") return null;
    throw e;
  }
  const cls = mod[kind];
  // Only top-level kinds carry apiVersion and kind (PodSpec has neither).
  if (typeof cls !== "function" || cls.apiVersion !== apiVersion || cls.kind !== kind ||
      typeof cls.prototype.validate !== "function") return null;
  return cls;
}

// A JSON pointer (/spec/containers/0/image) as a field path
// (spec.containers[0].image).
function fieldPath(pointer) {
  if (!pointer) return "(object)";
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^[0-9]+$/.test(seg) || !/^[A-Za-z_$][\w$]*$/.test(seg)) out += `[${seg}]`;
    else out += (out ? "." : "") + seg;
  }
  return out;
}

// "PATH: MESSAGE; ..." from ajv's errors, one entry per path.
function describe(errors) {
  const byPath = new Map();
  for (const e of errors) {
    const p = fieldPath(e.instancePath);
    const msgs = byPath.get(p) || [];
    const msg = e.message || e.keyword;
    if (!msgs.includes(msg)) msgs.push(msg);
    byPath.set(p, msgs);
  }
  return [...byPath].map(([p, msgs]) => `${p}: ${msgs.join(", ")}`).join("; ");
}

function nameOf(obj) {
  const md = obj && typeof obj.metadata === "object" && obj.metadata !== null ? obj.metadata : {};
  if (typeof md.name === "string" && md.name) return md.name;
  if (typeof md.generateName === "string" && md.generateName) return md.generateName + "*";
  return "-";
}

async function check(obj) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    return { good: false, line: "invalid - -: (object): not an object" };
  }
  const kind = typeof obj.kind === "string" && obj.kind ? obj.kind : "-";
  const head = `${kind} ${nameOf(obj)}`;
  const cls = await model(obj.apiVersion, obj.kind);
  if (cls === null) {
    return { good: false, line: `invalid ${head}: apiVersion: no model for apiVersion ${JSON.stringify(obj.apiVersion)} kind ${JSON.stringify(obj.kind)}` };
  }
  try {
    new cls(obj).validate();
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    return { good: false, line: `invalid ${head}: ${describe(e.errors)}` };
  }
  return { good: true, line: `ok ${head}` };
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length > 1 || (args[0] || "").startsWith("--")) {
    process.stderr.write("usage: k8s_validate.mjs [FILE|-]  (a JSON array of Kubernetes objects)\n");
    return 2;
  }
  let objs;
  try {
    const text = readFileSync(args.length && args[0] !== "-" ? args[0] : 0, "utf8");
    objs = JSON.parse(text);
  } catch (e) {
    process.stderr.write(`k8s_validate: ${args[0] || "stdin"}: ${e.message}\n`);
    return 2;
  }
  if (!Array.isArray(objs)) {
    process.stderr.write(`k8s_validate: ${args[0] || "stdin"}: not a JSON array\n`);
    return 2;
  }
  let bad = 0;
  for (const obj of objs) {
    const r = await check(obj);
    if (!r.good) bad++;
    process.stdout.write(r.line + "\n");
  }
  return bad ? 1 : 0;
}

process.exitCode = await main();
