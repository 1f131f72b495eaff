#!/usr/bin/env bash
# vcctl in the shells: the completion scripts it prints, sourced into
# Debian's bash, zsh and fish, complete commands, flags, job ids and switch
# names from a real lease server; its man page passes mandoc -Tlint.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh redis-server=redis-server snmpsimd=snmpsim zsh=zsh fish=fish mandoc=mandoc
scripts/go-phase.sh shell -timeout 5m -tags shell -run 'TestCompletionInRealShells' ./vcctl/cli/
