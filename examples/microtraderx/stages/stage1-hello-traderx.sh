#!/usr/bin/env bash
# Stage 1: Hello TraderX. From nothing to one space with one service, on a cluster.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

banner 1 "Hello TraderX" \
  "gitops init writes a config dir: one service, reference-data, and the Namespace it runs in." \
  "gitops render makes the manifests repo: the base space, its units, one commit." \
  "gitops apply puts the space on a cluster."
"$MTX_HOME/setup-structure" 1
"$MTX_HOME/deploy" 1
say "look around"
show gitops space list
show gitops audit
next_stage 1 stage2-three-envs.sh
