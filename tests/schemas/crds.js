// Writes CustomResourceDefinitions for the kinds `gitops export` makes (Argo CD 2.7's Application
// and ApplicationSet, Flux 2.3's Kustomization and GitRepository), their schemas made from the
// @kubernetes-models TypeScript types, so that a test API server validates exported objects
// itself (a server-side dry run). A schema is turned structural as Kubernetes requires: `const`
// becomes a one-value enum, a string-or-number is x-kubernetes-int-or-string, metadata is left to
// the server, and no `additionalProperties: false` (an unknown field is found by comparing what the
// server kept with what was sent).
//
//   node tests/schemas/crds.js > crds.json        (a JSON List of the CRDs)
"use strict";
const path = require("path");
const tsj = require("ts-json-schema-generator");

const KINDS = [
  ["argoproj.io", "v1alpha1", "Application", "applications", "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application.d.ts"],
  ["argoproj.io", "v1alpha1", "ApplicationSet", "applicationsets", "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet.d.ts"],
  ["kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations", "@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization.d.ts"],
  ["source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories", "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository.d.ts"],
];

function structural(schema) {
  if (Array.isArray(schema)) return schema.map(structural);
  if (!schema || typeof schema !== "object") return schema;
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema" || key === "description" || key === "definitions") continue;
    if (key === "additionalProperties" && value === false) continue;
    if (key === "const") { out.enum = [value]; continue; }
    out[key] = key === "properties"
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, structural(v)]))
      : structural(value);
  }
  if (Array.isArray(out.type)) {
    const types = out.type.filter((t) => t !== "null");
    if (types.length < out.type.length) out.nullable = true;
    if (types.includes("string") && (types.includes("number") || types.includes("integer"))) {
      delete out.type;
      out["x-kubernetes-int-or-string"] = true;
    } else {
      out.type = types[0];
    }
  }
  if ((out.type === "object" && !out.properties && !out.additionalProperties)
      || (!out.type && !out["x-kubernetes-int-or-string"] && !out.enum)) {
    out["x-kubernetes-preserve-unknown-fields"] = true;  // any value (a JSON value, a free object)
  }
  return out;
}

const items = KINDS.map(([group, version, kind, plural, file]) => {
  const config = { path: path.join(__dirname, "node_modules", file), type: `I${kind}`, skipTypeCheck: true, expose: "none",
                   topRef: false, additionalProperties: false };
  const schema = structural(tsj.createGenerator(config).createSchema(config.type));
  schema.properties.metadata = { type: "object" };
  return {
    apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: { group, scope: "Namespaced", names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
            versions: [{ name: version, served: true, storage: true, schema: { openAPIV3Schema: schema } }] },
  };
});
process.stdout.write(JSON.stringify({ apiVersion: "v1", kind: "List", items }) + "\n");
