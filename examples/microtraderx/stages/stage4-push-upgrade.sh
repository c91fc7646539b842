#!/usr/bin/env bash
# Stage 4: push-upgrade. The base gets trade-service v2; every region takes it and keeps its own
# replicas.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

banner 4 "Push-upgrade" \
  "The base changes once (image v2, TRADING_ALGORITHM=quantum, TRADE_TIMEOUT=60s);" \
  "gitops upgrade carries it into every production region, merged field by field with what" \
  "each region changed itself: EU keeps 5 replicas, Asia 2, the US 3."
"$MTX_HOME/setup-structure" 4
"$MTX_HOME/deploy" 4
say "look back"
show gitops unit diff trade-service --space traderx-prod-eu
show gitops tree --space '*' --unit trade-service
next_stage 4 stage5-find-and-fix.sh
