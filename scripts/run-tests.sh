#!/usr/bin/env bash
# The whole suite in two phases: everything in parallel, then the suites that assert real-time behaviour
# (delivery retries, cross-process refresh within a second, a browser driving a live session) on their own,
# serially, so the parallel phase's CPU load cannot make them miss their deadlines.
set -euo pipefail
SWIFT="${SWIFT:-swift}"
timed='WebhookTests|DispatcherTests|twoInstancesSeeEachOther|BrowserTests|ServerActionsTests'
"$SWIFT" test --skip-build --skip "$timed"
"$SWIFT" test --skip-build --no-parallel --filter "$timed"
