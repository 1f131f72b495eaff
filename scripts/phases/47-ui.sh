#!/usr/bin/env bash
# The status page in a real browser: Debian's chromium, driven from Go by
# chromedp, against a real leasesrv process, redis-server and the switch
# peers. It refreshes the screenshots in docs/ that README shows. Under
# CI=true a missing chromium fails the test instead of skipping it.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim chromium=chromium
scripts/go-phase.sh ui -timeout 5m -tags browser -run 'TestStatusPageInChromium' ./leasesrv/ui/
