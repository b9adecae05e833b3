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
// be read.  The schema knows types, formats (quantities, date-times,
// int32/int64), enums and required fields.  The package's validators
// accept fields the schema does not have, so unknown fields are found
// here from the package's type declarations (the .d.ts beside each
// model), as the API server's strict field validation would.  The API
// server's own checks (name formats, label syntax, immutable fields) are
// not in the schema.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const VERSION = /^(?:([a-z0-9]+(?:[.-][a-z0-9]+)*)\/)?(v[0-9]+(?:(?:alpha|beta)[0-9]+)?)$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

// The model for apiVersion/kind ({cls, dts}: its class and the path of
// its type declarations), or null when the package has none.
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
  return { cls, dts: fileURLToPath(import.meta.resolve(spec)).replace(/\.js$/, ".d.ts") };
}

// --- unknown fields, from the .d.ts interfaces ---
// A type is {ref: dts path}, {array: type}, {map: type} or null (a
// scalar, a union, anything not checked further).
const shapes = new Map();     // dts path -> Map(field -> type), or null

function importsOf(text, dts) {
  const map = new Map();
  for (const m of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
    let target;
    if (m[2].startsWith(".")) target = path.resolve(path.dirname(dts), m[2]);
    else {
      try { target = fileURLToPath(import.meta.resolve(m[2])); } catch { continue; }
    }
    target = target.replace(/\.js$/, "") + ".d.ts";
    for (const name of m[1].split(",").map((x) => x.trim())) map.set(name, target);
  }
  return map;
}

function parseType(expr, imports, self, dts) {
  expr = expr.trim();
  let m = /^Array<(.*)>$/s.exec(expr);
  if (m) return { array: parseType(m[1], imports, self, dts) };
  m = /^\{\s*\[key: string\]:\s*(.*?);?\s*\}$/s.exec(expr);
  if (m) return { map: parseType(m[1], imports, self, dts) };
  if (expr === self) return { ref: dts };
  if (imports.has(expr)) return { ref: imports.get(expr) };
  return null;
}

// The fields of the interface declared in dts (null: none, or no
// fields, so anything goes).
function shape(dts) {
  if (shapes.has(dts)) return shapes.get(dts);
  shapes.set(dts, null);
  let text;
  try { text = readFileSync(dts, "utf8"); } catch { return null; }
  const head = /^export interface (\w+)(?: extends [\w, ]+)? \{$/m.exec(text);
  if (head === null) return null;
  const start = head.index + head[0].length;
  const end = text.indexOf("\n}", start);
  const body = text.slice(start, end < 0 ? text.length : end).replace(/\/\*\*[\s\S]*?\*\//g, "");
  const imports = importsOf(text, dts);
  const fields = new Map();
  const prop = /^ {4}"([^"]+)"\??: /gm;
  let m;
  while ((m = prop.exec(body)) !== null) {
    let depth = 0, i = prop.lastIndex;
    for (; i < body.length; i++) {
      const c = body[i];
      if (c === "{" || c === "<" || c === "(") depth++;
      else if (c === "}" || c === ">" || c === ")") depth--;
      else if (c === ";" && depth === 0) break;
    }
    fields.set(m[1], parseType(body.slice(prop.lastIndex, i), imports, head[1], dts));
  }
  const result = fields.size ? fields : null;
  shapes.set(dts, result);
  return result;
}

function pointerSeg(k) {
  return "/" + String(k).replace(/~/g, "~0").replace(/\//g, "~1");
}

// Pushes {instancePath, message} for every field of value its type lacks.
function unknownFields(value, type, at, out) {
  if (type === null || value === null || typeof value !== "object") return;
  if (type.array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, type.array, at + "/" + i, out));
  } else if (type.map) {
    if (!Array.isArray(value)) for (const [k, v] of Object.entries(value)) unknownFields(v, type.map, at + pointerSeg(k), out);
  } else if (!Array.isArray(value)) {
    const fields = shape(type.ref);
    if (fields === null) return;
    for (const [k, v] of Object.entries(value)) {
      if (!fields.has(k)) out.push({ instancePath: at + pointerSeg(k), message: "unknown field" });
      else unknownFields(v, fields.get(k), at + pointerSeg(k), out);
    }
  }
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
  const mdl = await model(obj.apiVersion, obj.kind);
  if (mdl === null) {
    return { good: false, line: `invalid ${head}: apiVersion: no model for apiVersion ${JSON.stringify(obj.apiVersion)} kind ${JSON.stringify(obj.kind)}` };
  }
  const errors = [];
  try {
    new mdl.cls(obj).validate();
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    errors.push(...e.errors);
  }
  unknownFields(obj, { ref: mdl.dts }, "", errors);
  if (errors.length) return { good: false, line: `invalid ${head}: ${describe(errors)}` };
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
