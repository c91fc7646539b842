#!/usr/bin/env bash
# Stage 2: three environments. Spaces copied from the base; a change tried in dev, promoted to
# staging, then to production.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

banner 2 "Three environments" \
  "gitops space create --upstream copies every unit of the base, linked to it." \
  "A change made in dev travels with gitops promote: only what dev changed, nothing else."
"$MTX_HOME/setup-structure" 2
"$MTX_HOME/deploy" 2
say "look back"
show gitops overrides --space traderx-prod-us
show gitops history reference-data --space traderx-prod-us
next_stage 2 stage3-three-regions.sh
