// Validates Argo CD and Flux objects against the schemas of Argo CD 2.7 and Flux 2.3, as the
// @kubernetes-models packages ship them (generated from the projects' CRDs). Offline. Two checks:
//
// - the packages' JSON-schema validators: types, enums and required fields;
// - their TypeScript types, through the TypeScript compiler: every object is written as a typed
//   object literal, so a field the CRD does not have is an error (an API server would drop it
//   silently, and the JSON schemas allow it).
//
//   node tests/schemas/validate.js < objects.json     (a JSON array of objects)
//
// Prints one line per object ("ok KIND NAME" or "invalid KIND NAME: what"), and exits 1 when any
// object is invalid or of a kind it has no schema for.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const ts = require("typescript");

const GROUPS = {
  "argoproj.io/v1alpha1": "@kubernetes-models/argo-cd/argoproj.io/v1alpha1",
  "kustomize.toolkit.fluxcd.io/v1": "@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1",
  "source.toolkit.fluxcd.io/v1": "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1",
};

const objects = JSON.parse(fs.readFileSync(0, "utf8"));
const problems = objects.map(() => []);

// 1. the JSON-schema validators
objects.forEach((obj, i) => {
  const module = GROUPS[obj.apiVersion];
  const Model = module && require(module)[obj.kind];
  if (!Model) {
    problems[i].push(`no schema for ${obj.apiVersion}/${obj.kind}`);
    return;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    problems[i].push(String(e.message || e).replace(/\s+/g, " "));
  }
});

// 2. the TypeScript types: unknown fields
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-schemas-"));
const file = path.join(dir, "objects.ts");
const lines = [];
objects.forEach((obj, i) => {
  const module = GROUPS[obj.apiVersion];
  if (!module || problems[i].length) return;
  lines.push(`import type { I${obj.kind} as T${i} } from "${module}/${obj.kind}";`);
  lines.push(`export const o${i}: T${i} = ${JSON.stringify(obj)};`);
});
fs.writeFileSync(file, lines.join("\n") + "\n");
const program = ts.createProgram([file], {
  noEmit: true, strict: true, skipLibCheck: true, module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10, typeRoots: [], types: [],
  baseUrl: __dirname, paths: { "*": [path.join(__dirname, "node_modules", "*")] },
});
for (const d of ts.getPreEmitDiagnostics(program)) {
  const text = ts.flattenDiagnosticMessageText(d.messageText, " ").replace(/'\{.*$/, "").trim();
  const line = d.file ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
  const match = line >= 0 ? /^export const o(\d+)/.exec(lines[line] || "") : null;
  if (match) problems[Number(match[1])].push(text);
  else { console.log(`invalid (the check itself): ${text}`); process.exitCode = 1; }
}
fs.rmSync(dir, { recursive: true, force: true });

let bad = 0;
objects.forEach((obj, i) => {
  const name = `${obj.kind} ${(obj.metadata || {}).name}`;
  if (problems[i].length) {
    console.log(`invalid ${name}: ${problems[i].join("; ")}`);
    bad += 1;
  } else {
    console.log(`ok ${name}`);
  }
});
if (bad) process.exitCode = 1;
