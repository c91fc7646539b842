#!/usr/bin/env bash
# Stage 5: find and fix. WHERE clauses find units across every space; the same clause fixes them.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

banner 5 "Find and fix" \
  "gitops unit list --where finds units by name, space, labels or any field of the manifest;" \
  "gitops run and gitops upgrade take the same --where, so what you found is what you fix."
if (($(stage_reached) < 4)); then
  "$MTX_HOME/setup-structure" 4
fi
if (($(stage_reached) < 5)); then
  say "find"
  show gitops unit list --space '*' --where "Slug = 'trade-service' AND Space.Slug LIKE '%prod%'"
  show gitops unit list --space '*' --where "Data CONTAINS 'trade-service:v1'"
  show gitops unit list --space 'traderx-prod-*' --where 'spec.replicas > 2'
fi
"$MTX_HOME/setup-structure" 5
"$MTX_HOME/deploy" 5
say "look back"
show gitops history trade-service --space traderx-prod-eu
next_stage 5 stage6-atomic-updates.sh
