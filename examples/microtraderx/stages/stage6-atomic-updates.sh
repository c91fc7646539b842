#!/usr/bin/env bash
# Stage 6: atomic updates. Two services that must change together land as one commit and deploy
# all or nothing.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

banner 6 "Atomic updates" \
  "Market data v2: reference-data v2 publishes a new format, trade-service must read it." \
  "Both edits go on the changeset market-data-v2 (a branch; main does not move), then" \
  "gitops changeset apply --deploy checks both with the API server, applies both, and only" \
  "then lands them on main as one commit. If the cluster refuses either, neither happens."
"$MTX_HOME/setup-structure" 6
"$MTX_HOME/deploy" 6
say "look back"
show gitops show
next_stage 6 stage7-emergency-bypass.sh
