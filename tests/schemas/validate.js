// Validates Argo CD and Flux objects against the schemas of Argo CD 2.7 and Flux 2.3, as the
// @kubernetes-models packages ship them (generated from the projects' CRDs). Offline.
//
//   node tests/schemas/validate.js < objects.json     (a JSON array of objects)
//
// Prints one line per object ("ok KIND NAME" or "invalid KIND NAME: what"), and exits 1 when any
// object is invalid or of a kind it has no schema for.
"use strict";
const argo = require("@kubernetes-models/argo-cd/argoproj.io/v1alpha1");
const kustomize = require("@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1");
const source = require("@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1");

const models = {};
for (const group of [argo, kustomize, source]) {
  for (const Model of Object.values(group)) {
    if (Model && Model.apiVersion && Model.kind) models[`${Model.apiVersion}/${Model.kind}`] = Model;
  }
}

const objects = JSON.parse(require("fs").readFileSync(0, "utf8"));
let bad = 0;
for (const obj of objects) {
  const name = `${obj.kind} ${(obj.metadata || {}).name}`;
  const Model = models[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) {
    console.log(`invalid ${name}: no schema for ${obj.apiVersion}/${obj.kind}`);
    bad += 1;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`invalid ${name}: ${String(e.message || e).replace(/\s+/g, " ")}`);
    bad += 1;
  }
}
process.exit(bad ? 1 : 0);
