#!/usr/bin/env bash
# Stage 7: emergency bypass. A fix found in EU goes sideways to Asia before its market opens,
# then to the US, then into the base, and every region keeps its replicas.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

banner 7 "Emergency bypass" \
  "Normal:    dev -> staging -> us -> eu -> asia" \
  "Emergency: eu -> asia (before Tokyo opens), then us, then the base (and from it dev, staging)." \
  "Only what EU changed relative to the base travels: CIRCUIT_BREAKER=true, not EU's 5 replicas."
"$MTX_HOME/setup-structure" 7
"$MTX_HOME/deploy" 7
say "look back"
show gitops overrides --space traderx-prod-asia
show gitops tree --space '*' --unit trade-service
show gitops audit --unit traderx-prod-eu/trade-service
next_stage 7 stage8-blue-green.sh
