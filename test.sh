#!/usr/bin/env bash
# Runs every test: installs what is missing (as root, via apt), restores tools, checks migrations and the
# compose file, runs the test suite, and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log() { printf '\n== %s\n' "$*"; }

install_missing() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v nginx >/dev/null || missing+=(nginx)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v npm >/dev/null || missing+=(nodejs npm)
  # the service runs with ICU (SQL Server's client refuses globalization-invariant mode); libicu-dev pulls the runtime
  ldconfig -p 2>/dev/null | grep -q 'libicuuc\.so' || missing+=(libicu-dev)
  # the tests' watchdog (Notifications.Tests/Infrastructure/TestRunCleanup.cs) stops leftover servers with these
  command -v pgrep >/dev/null || missing+=(procps)
  command -v setsid >/dev/null || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      log "installing ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "missing: ${missing[*]} (run as root to install them)" >&2
    fi
  fi
}

failed_steps=0
step() { # step NAME COMMAND...: runs a non-test check; a failure counts as one failed test
  local name=$1; shift
  log "$name"
  if "$@"; then checks_passed=$((checks_passed + 1)); else echo "FAILED: $name" >&2; failed_steps=$((failed_steps + 1)); fi
}
checks_passed=0

install_missing
log "restore"
dotnet tool restore >/dev/null || exit 1
dotnet build Notifications.sln -c Debug -nologo -v q -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }

ef() { dotnet ef "$@" --project Notifications.Infrastructure --startup-project Notifications.Infrastructure --no-build; }
for ctx in Sqlite Postgres SqlServer; do
  step "no pending model changes ($ctx)" ef migrations has-pending-model-changes --context "${ctx}NotificationsDbContext"
done
mkdir -p artifacts
step "SQL Server idempotent migration script" ef migrations script --idempotent --context SqlServerNotificationsDbContext -o artifacts/sqlserver-migrations.sql
if command -v docker-compose >/dev/null; then
  step "docker-compose.yml is valid" docker-compose -f docker-compose.yml config -q
fi

log "tests"
rm -rf TestResults
dotnet test Notifications.Tests --no-build -nologo --logger "trx;LogFileName=results.trx" --results-directory TestResults "$@"
test_rc=$?

trx=$(ls TestResults/*.trx 2>/dev/null | head -n 1)
passed=0; failed=0; skipped=0
if [ -n "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*' "$trx" | head -n 1)
  passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  total=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  executed=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  skipped=$(( ${total:-0} - ${executed:-0} ))
fi
[ "$test_rc" -ne 0 ] && [ "${failed:-0}" -eq 0 ] && failed=1
passed=$(( ${passed:-0} + checks_passed ))
failed=$(( ${failed:-0} + failed_steps ))
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
