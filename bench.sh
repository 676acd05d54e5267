#!/usr/bin/env bash
# Reproduces docs/benchmarks.md: builds Release, starts the plain-SignalR baseline and our API, runs the load
# scenarios A/B (interleaved rounds, medians, ratio ours/baseline) and writes bench-results/.
#
#   ./bench.sh                 all scenarios (S1 … S6); about 27 min on a quiet 2-core machine (each warm-up waits for the JIT)
#   ./bench.sh S3 S4           some of them
#   ./bench.sh S6T             not in the default set: S6's two instances + Redis against one, under S4's targeted sends
#   AB_REV=<rev> ./bench.sh S6AB   not in the default set: S6's pair (2 instances + Redis) of this tree against the pair
#                              built from git revision <rev>, in interleaved rounds (did a change cost the backplane?);
#                              AB_HERE=<rev2> puts the pair built from <rev2> in this tree's place (a bisect of two revisions)
#   QUICK=1 ./bench.sh         tiny sizes, checks the pipeline in a few minutes (numbers meaningless)
#   SELF_TEST=1 ./bench.sh     "ours" is a second baseline instance (checks the tooling without the API)
#   PROTOCOL=messagepack ./bench.sh S3   every client speaks SignalR's MessagePack hub protocol (default json), for A/Bs
#                              of the two; our API then runs with Hub__MessagePack=true, which it needs to accept it
#
# Every scenario starts from an empty store: a fresh SQLite file, and a fresh PostgreSQL database per scenario.
#
# Knobs (environment): OUT ROUNDS JIT_WARMUP PROTOCOL (json|messagepack) BENCH_PORT_BASE REDIS_PORT PG_PORT PG_FAST PGBIN API_ENVIRONMENT
#   OURS_GC_SERVER (unset: the API's own setting, server GC; 0: workstation GC) BASELINE_GC_SERVER (1, ASP.NET's default)
#   S1_LEVELS S1_DURATION S1_ROUNDS S2_CONNECTIONS S3_LEVELS S3_DURATION S3_LATENCY_CONNECTIONS S4_CONNECTIONS S4_DURATION S4_SEND_CONCURRENCY S4_SEND_RATE
#   S5_NOTIFICATIONS S5_USERS S5_DURATION S5_READ_RATE S5_READ_DURATION S5_DB S5_SEED S5_BASELINE S6_CONNECTIONS S6_DURATION S6_ROUNDS S6_PLAIN S6T_SEND_RATE
set -euo pipefail

ROOT=$(cd "$(dirname "$0")" && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/bench-results}
# Servers are started from other working directories: the output folder must be absolute.
OUT=$(realpath -m "$OUT")
ROUNDS=${ROUNDS:-2}
QUICK=${QUICK:-0}
SELF_TEST=${SELF_TEST:-0}
PORT=${BENCH_PORT_BASE:-5180}
REDIS_PORT=${REDIS_PORT:-6390}
PG_PORT=${PG_PORT:-5440}
PG_FAST=${PG_FAST:-1}
API_ENVIRONMENT=${API_ENVIRONMENT:-Production}
OURS_GC_SERVER=${OURS_GC_SERVER:-}
BASELINE_GC_SERVER=${BASELINE_GC_SERVER:-1}
case "$OURS_GC_SERVER/$BASELINE_GC_SERVER" in
  /0 | /1 | 0/0 | 0/1 | 1/0 | 1/1) ;;
  *) echo "OURS_GC_SERVER must be unset, 0 or 1 and BASELINE_GC_SERVER 0 or 1" >&2; exit 2 ;;
esac
# the hub protocol of every load client (the tool's --protocol)
PROTOCOL=${PROTOCOL:-json}
case "$PROTOCOL" in
  json | messagepack) ;;
  *) echo "PROTOCOL must be json or messagepack" >&2; exit 2 ;;
esac

if [ "$#" -gt 0 ]; then SCENARIOS=("$@"); else SCENARIOS=(S1 S2 S3 S4 S5 S6); fi

if [ "$QUICK" = 1 ]; then
  : "${S1_LEVELS:=200,1000}" "${S1_DURATION:=2}" "${S2_CONNECTIONS:=1000}" "${S3_LEVELS:=200,1000}" "${S3_DURATION:=3}"
  : "${S3_LATENCY_CONNECTIONS:=200}" "${S4_CONNECTIONS:=200}" "${S4_DURATION:=3}" "${S5_NOTIFICATIONS:=5000}"
  : "${S5_USERS:=2000}" "${S5_DURATION:=3}" "${S5_READ_DURATION:=3}" "${S6_CONNECTIONS:=300}" "${S6_DURATION:=3}" "${JIT_WARMUP:=3}"
fi
JIT_WARMUP=${JIT_WARMUP:-25}
S1_LEVELS=${S1_LEVELS:-1000,5000,19000}
S1_DURATION=${S1_DURATION:-3}
S2_CONNECTIONS=${S2_CONNECTIONS:-10000}
S3_LEVELS=${S3_LEVELS:-1000,10000}
S3_DURATION=${S3_DURATION:-5}
S3_LATENCY_CONNECTIONS=${S3_LATENCY_CONNECTIONS:-1000}
S4_CONNECTIONS=${S4_CONNECTIONS:-1000}
# sends in flight: enough that the group commit has sends to group (the service commits every send queued at once)
S4_SEND_CONCURRENCY=${S4_SEND_CONCURRENCY:-64}
S4_DURATION=${S4_DURATION:-6}
# then sends on a fixed schedule at the target's rate (0: none): the p99 at that rate, without the closed loop's
# queueing (64 in flight ÷ the rate) and without coordinated omission (latency runs from each send's due time)
S4_SEND_RATE=${S4_SEND_RATE:-5000}
# S5 seeds our store with set-based SQL straight into its database (S5_SEED=sql: the issue's size, 1,000,000
# notifications and 100,000 users, in well under a minute) or through the public API (S5_SEED=api: ~2,500 sends/s,
# so the default size is smaller there). The in-memory baseline can only be filled through its API, and its unread
# count scans the whole store on every call (100,000 users at 1M notifications: hours), so with bulk seeding S5
# measures ours alone unless S5_BASELINE=1 (then pick a smaller size).
S5_SEED=${S5_SEED:-sql}
if [ "$S5_SEED" = api ]; then : "${S5_NOTIFICATIONS:=50000}" "${S5_USERS:=20000}" "${S5_BASELINE:=1}"; fi
S5_BASELINE=${S5_BASELINE:-0}
S5_NOTIFICATIONS=${S5_NOTIFICATIONS:-1000000}
S5_USERS=${S5_USERS:-100000}
# S5's closed-loop reads and its send cost by audience run this long (the open-loop reads: S5_READ_DURATION)
S5_DURATION=${S5_DURATION:-10}
S5_READ_RATE=${S5_READ_RATE:-60}
# The open-loop reads are S5's headline p99: 30 s gives about 600 reads of each kind (10 s gave 200, a p99 that is
# the second-highest read).
S5_READ_DURATION=${S5_READ_DURATION:-30}
S6_CONNECTIONS=${S6_CONNECTIONS:-2000}
S6_DURATION=${S6_DURATION:-5}
S6_PLAIN=${S6_PLAIN:-1}
# S6T: the open loop's rate of targeted sends, below what one instance on PostgreSQL takes, so CPU is compared at equal work
S6T_SEND_RATE=${S6T_SEND_RATE:-2000}
# S1 and S6 run at least 4 rounds (A B B A A B B A; QUICK: ROUNDS), where one round says little on this box: S1 restarts
# both servers every round and one process's RSS per connection lands anywhere in 25–35 KB (plain SignalR's within
# 26–29 KB); S6 compares two set-ups whose rates each move by a third between rounds.
NOISY_ROUNDS=$ROUNDS
if [ "$QUICK" != 1 ] && [ "$ROUNDS" -lt 4 ]; then NOISY_ROUNDS=4; fi
S1_ROUNDS=${S1_ROUNDS:-$NOISY_ROUNDS}
S6_ROUNDS=${S6_ROUNDS:-$NOISY_ROUNDS}

P_OURS=$PORT P_BASE=$((PORT + 1)) P_A=$((PORT + 3)) P_B=$((PORT + 4)) P_PLAIN_A=$((PORT + 5)) P_PLAIN_B=$((PORT + 6))
started=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$OUT/logs"
rm -f "$OUT"/S*.json
: > "$OUT/results.txt"
if awk -v n="$(nproc)" '{ exit !($1 > n / 2) }' /proc/loadavg; then
  echo "warning: load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores: other work will distort the numbers" >&2
fi

log() { printf '\n[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- processes we start (stopped on exit)
PIDS=()
TOOL_PID=
PG_STARTED=0
REDIS_STARTED=0
cleanup() {
  local pid
  # the load tool stops the servers it started itself on SIGTERM
  if [ -n "$TOOL_PID" ]; then kill -TERM "$TOOL_PID" 2>/dev/null || true; wait "$TOOL_PID" 2>/dev/null || true; fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$REDIS_STARTED" = 1 ]; then redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
  if [ "$PG_STARTED" = 1 ]; then "${RUNPG[@]}" "$PGBIN/pg_ctl" -D "$OUT/pg/data" -m fast -w stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
# exit through the EXIT trap on Ctrl+C or SIGTERM too (the tool runs in the background so that the trap runs at once)
trap 'exit 130' INT
trap 'exit 143' TERM

# GET url: true on a 2xx. Plain bash (/dev/tcp), so curl is not needed.
http_ok() {
  local rest=${1#http://} hostport path
  hostport=${rest%%/*}
  path=${rest#"$hostport"}
  path=/${path#/}
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n" "$2" "$0" "$1" >&3
    read -r _ code _ <&3
    [[ $code == 2?? ]]' "${hostport%:*}" "${hostport##*:}" "$path" 2> /dev/null
}

wait_http() { # url seconds
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    http_ok "$1" && return 0
    sleep 0.25
  done
  echo "no answer from $1" >&2
  return 1
}

# ---------------------------------------------------------------- build
log "building Release"
dotnet build Notifications.LoadTest/Notifications.LoadTest.csproj -c Release -nologo -v q -clp:ErrorsOnly
LT=(dotnet "$ROOT/Notifications.LoadTest/bin/Release/net10.0/Notifications.LoadTest.dll")
if [ "$SELF_TEST" != 1 ]; then
  # browser assets (npm) are not needed to benchmark the API
  # ReadyToRun, as a production image would ship it: fewer methods start in the JIT's quick tier, so the server reaches
  # steady state sooner (the warm-up still runs until tiered compilation has caught up, see --jit-warmup).
  case "$(uname -m)" in
    x86_64 | amd64) RID=linux-x64 ;;
    aarch64 | arm64) RID=linux-arm64 ;;
    *) echo "no ReadyToRun runtime identifier known for $(uname -m)" >&2; exit 2 ;;
  esac
  dotnet publish Notifications.Api/Notifications.Api.csproj -c Release -r "$RID" --self-contained false -p:PublishReadyToRun=true \
    -o "$OUT/api" -p:NotificationsSkipFrontend=true -nologo -v q -clp:ErrorsOnly
  API_DLL="$OUT/api/Notifications.Api.dll"
fi

KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
ISS=notifications-bench
AUD=notifications-bench

# The baseline accepts both hub protocols. Over Redis, though, every push is published once per protocol it accepts: a
# JSON run keeps it to JSON, as our API is by default.
BASELINE_REDIS_PROTOCOLS=
if [ "$PROTOCOL" = json ]; then BASELINE_REDIS_PROTOCOLS=" --no-messagepack"; fi

# Command that runs "ours" on a port (ASPNETCORE_URLS is set by the caller); optional Redis configuration.
ours_cmd() {
  if [ "$SELF_TEST" = 1 ]; then
    echo "${LT[*]} baseline --port $1${2:+ --redis $2$BASELINE_REDIS_PROTOCOLS}"
  else
    echo "dotnet $API_DLL"
  fi
}

# Settings of our API for every run: same key as the tool, no rate limits in the way, quiet logs. Its GC is the one
# it ships with (server GC, the ASP.NET Core default) unless OURS_GC_SERVER is 0 or 1; the plain-SignalR baseline
# runs server GC unless BASELINE_GC_SERVER=0. OURS_GC_SERVER=0 measures the workstation-GC option (docs/operations.md).
API_ENV=(
  "ASPNETCORE_ENVIRONMENT=$API_ENVIRONMENT"
  "Auth__SigningKey=$KEY" "Auth__Issuer=$ISS" "Auth__Audience=$AUD"
  "RateLimit__SendsPerMinute=0" "RateLimit__HubInvocationsPerMinute=0"
  "Logging__LogLevel__Default=Warning" "Database__MigrateOnStartup=true"
)
# our API accepts MessagePack only when told to (with Redis, every push is then published in both protocols)
if [ "$PROTOCOL" = messagepack ]; then API_ENV+=("Hub__MessagePack=true"); fi
if [ -n "$OURS_GC_SERVER" ]; then
  API_ENV+=("DOTNET_gcServer=$OURS_GC_SERVER")
elif [ "$SELF_TEST" = 1 ]; then # "ours" is then a second baseline, and runs like the first
  API_ENV+=("DOTNET_gcServer=$BASELINE_GC_SERVER")
fi
mkdir -p "$OUT/data"
SQLITE_DB=$OUT/data/notifications.db
SQLITE_ENV=("${API_ENV[@]}" "Database__Provider=Sqlite" "ConnectionStrings__Notifications=Data Source=$SQLITE_DB")
# an empty SQLite store (the file outlives bench runs, and one scenario's rows would skew the next)
fresh_sqlite() { rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm"; }

# ---------------------------------------------------------------- PostgreSQL (optional)
# the newest installed server, unless PGBIN names one
if [ -z "${PGBIN:-}" ]; then
  PGBIN=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
  PGBIN=${PGBIN%/initdb}
fi
RUNPG=()
HAVE_PG=0
start_pg() {
  [ "$HAVE_PG" = 1 ] && return 0
  if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then log "PostgreSQL not found (no /usr/lib/postgresql/*/bin/initdb; PGBIN sets it): PostgreSQL runs skipped"; return 1; fi
  log "PostgreSQL $("$PGBIN/pg_ctl" --version | awk '{print $3}') from $PGBIN"
  if [ "$(id -u)" = 0 ]; then RUNPG=(runuser -u postgres --); fi
  rm -rf "$OUT/pg" && mkdir -p "$OUT/pg"
  if [ "$(id -u)" = 0 ]; then chown postgres "$OUT/pg"; fi
  "${RUNPG[@]}" "$PGBIN/initdb" -D "$OUT/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 > "$OUT/logs/initdb.log" || return 1
  local fast=""
  if [ "$PG_FAST" = 1 ]; then fast="-c fsync=off -c synchronous_commit=off"; fi
  "${RUNPG[@]}" "$PGBIN/pg_ctl" -D "$OUT/pg/data" -l "$OUT/pg/pg.log" -w -t 30 \
    -o "-p $PG_PORT -k $OUT/pg -c listen_addresses=127.0.0.1 -c max_connections=300 $fast" start > /dev/null || return 1
  PG_STARTED=1
  HAVE_PG=1
}
PG_ENV=()
PG_DB=
# fresh_pg NAME: an empty database NAME (dropped first if a previous scenario or run left it), and PG_ENV pointing at it
fresh_pg() {
  PG_DB=notifications_$1
  PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB" > /dev/null
  PG_ENV=("${API_ENV[@]}" "Database__Provider=Postgres"
    "ConnectionStrings__Notifications=Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$PG_DB;Maximum Pool Size=200")
}

# ---------------------------------------------------------------- Redis (optional, S6)
start_redis() {
  [ "$REDIS_STARTED" = 1 ] && return 0
  if ! command -v redis-server > /dev/null; then log "redis-server not installed (apt-get install -y redis-server): S6 skipped"; return 1; fi
  mkdir -p "$OUT/redis"
  # (called from `if`/`||`, where set -e is off: every failure returns explicitly)
  if redis-cli -p "$REDIS_PORT" ping > /dev/null 2>&1; then log "port $REDIS_PORT already has a Redis: S6 skipped"; return 1; fi
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$OUT/redis" --daemonize yes \
    --pidfile "$OUT/redis/redis.pid" --logfile "$OUT/redis/redis.log" || return 1
  local i
  for ((i = 0; i < 40; i++)); do redis-cli -p "$REDIS_PORT" ping 2> /dev/null | grep -q PONG && break; sleep 0.25; done
  redis-cli -p "$REDIS_PORT" ping 2> /dev/null | grep -q PONG || return 1
  REDIS_STARTED=1
}

# ---------------------------------------------------------------- runs
# run NAME args… : one tool invocation, JSON to $OUT/NAME.json, table appended to $OUT/results.txt
RESULTS=()
FAILED=()
run() {
  local name=$1
  shift
  log "$name"
  "${LT[@]}" run --out "$OUT/$name.json" --log-dir "$OUT/logs/$name" --token-key "$KEY" --issuer "$ISS" --audience "$AUD" \
    --rounds "$ROUNDS" --cooldown 1 --jit-warmup "$JIT_WARMUP" --protocol "$PROTOCOL" "$@" > >(tee -a "$OUT/results.txt") &
  TOOL_PID=$!
  local rc=0
  wait "$TOOL_PID" || rc=$?
  if [ "$rc" != 0 ]; then
    log "$name: the load tool exited with code $rc (see above)"
    FAILED+=("$name")
  fi
  TOOL_PID=
  if [ -f "$OUT/$name.json" ]; then RESULTS+=("$OUT/$name.json"); fi
}

# ours (started by the tool, so S1 can restart it per round) vs the baseline (also started by the tool)
ab() { # env-array-name
  local -n envs=$1
  local args=(--target "http://127.0.0.1:$P_OURS" --start-server "$(ours_cmd "$P_OURS")"
    --baseline "http://127.0.0.1:$P_BASE" --baseline-label baseline --start-baseline --baseline-env "DOTNET_gcServer=$BASELINE_GC_SERVER")
  local e
  for e in "${envs[@]}"; do args+=(--server-env "$e"); done
  AB=("${args[@]}")
}

# a server started by this script (S6 needs several at once)
start_bg() { # name port command env…
  local name=$1 port=$2 cmd=$3
  shift 3
  # run from the app's directory so that its content root is the published folder
  local dir="$ROOT"
  if [ "$SELF_TEST" != 1 ]; then dir="$OUT/api"; fi
  if [ -n "${BG_DIR:-}" ]; then dir=$BG_DIR; fi
  (cd "$dir" && exec env "$@" "ASPNETCORE_URLS=http://127.0.0.1:$port" bash -c "exec $cmd") > "$OUT/logs/$name.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/health/live" 90
}
# publish_rev REV DIR: publishes our API as built from git revision REV into DIR (a temporary worktree); prints REV, short
publish_rev() {
  local rev src=$OUT/ab-src
  rev=$(git rev-parse --short "$1^{commit}")
  log "publishing $rev"
  rm -rf "$src" && git worktree prune
  git worktree add --detach "$src" "$rev" > /dev/null
  dotnet publish "$src/Notifications.Api/Notifications.Api.csproj" -c Release -r "$RID" --self-contained false \
    -p:PublishReadyToRun=true -o "$2" -p:NotificationsSkipFrontend=true -nologo -v q -clp:ErrorsOnly >&2
  git worktree remove --force "$src"
  echo "$rev"
}
stop_bg_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

for s in "${SCENARIOS[@]}"; do
  fresh_sqlite
  case "$s" in
    S1)
      ab SQLITE_ENV
      run S1 --scenario S1 "${AB[@]}" --target-label ours --levels "$S1_LEVELS" --duration "$S1_DURATION" --settle 2 --rounds "$S1_ROUNDS"
      ;;
    S2)
      ab SQLITE_ENV
      run S2 --scenario S2 "${AB[@]}" --target-label ours --connections "$S2_CONNECTIONS"
      ;;
    S3)
      ab SQLITE_ENV
      run S3 --scenario S3 "${AB[@]}" --target-label ours --levels "$S3_LEVELS" \
        --latency-connections "$S3_LATENCY_CONNECTIONS" --duration "$S3_DURATION"
      ;;
    S4)
      ab SQLITE_ENV
      run S4-sqlite --scenario S4 "${AB[@]}" --target-label ours-sqlite --connections "$S4_CONNECTIONS" --duration "$S4_DURATION" --send-concurrency "$S4_SEND_CONCURRENCY" --send-rate "$S4_SEND_RATE"
      if start_pg; then
        fresh_pg s4
        ab PG_ENV
        run S4-postgres --scenario S4 "${AB[@]}" --target-label ours-postgres --connections "$S4_CONNECTIONS" --duration "$S4_DURATION" --send-concurrency "$S4_SEND_CONCURRENCY" --send-rate "$S4_SEND_RATE"
      fi
      ;;
    S5)
      s5_db=${S5_DB:-postgres}
      if [ "$s5_db" = postgres ] && start_pg; then
        fresh_pg s5
        ab PG_ENV
        label=ours-postgres
        s5_seed=(--seed-db postgres --seed-connection "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$PG_DB")
      else
        ab SQLITE_ENV
        label=ours-sqlite
        s5_seed=(--seed-db sqlite --seed-connection "Data Source=$SQLITE_DB")
      fi
      # the tool seeds after it started our API, which creates the schema on startup (Database__MigrateOnStartup)
      if [ "$S5_SEED" = api ]; then s5_seed=(); fi
      if [ "$S5_BASELINE" != 1 ]; then # ab always adds the baseline: take it out again
        s5_ab=()
        for ((i = 0; i < ${#AB[@]}; i++)); do
          case "${AB[i]}" in
            --baseline | --baseline-label) i=$((i + 1)) ;;
            --start-baseline) ;;
            --baseline-env) i=$((i + 1)) ;;
            *) s5_ab+=("${AB[i]}") ;;
          esac
        done
        AB=("${s5_ab[@]}")
      fi
      run S5 --scenario S5 "${AB[@]}" --target-label "$label" --seed-notifications "$S5_NOTIFICATIONS" \
        --seed-users "$S5_USERS" --duration "$S5_DURATION" --read-rate "$S5_READ_RATE" --read-duration "$S5_READ_DURATION" "${s5_seed[@]}"
      ;;
    S6)
      start_redis || continue
      if start_pg; then fresh_pg s6; s6_env=("${PG_ENV[@]}"); else s6_env=("${SQLITE_ENV[@]}"); fi
      redis_conf="127.0.0.1:$REDIS_PORT,abortConnect=false"
      # ours: two instances sharing Redis (and the database) vs one instance without a backplane.
      start_bg ours-a "$P_A" "$(ours_cmd "$P_A" "$redis_conf")" "${s6_env[@]}" "Redis__Configuration=$redis_conf" "Redis__ChannelPrefix=bench"
      start_bg ours-b "$P_B" "$(ours_cmd "$P_B" "$redis_conf")" "${s6_env[@]}" "Redis__Configuration=$redis_conf" "Redis__ChannelPrefix=bench"
      start_bg ours-1 "$P_OURS" "$(ours_cmd "$P_OURS")" "${s6_env[@]}"
      run S6 --scenario S6 --target "http://127.0.0.1:$P_A,http://127.0.0.1:$P_B" --target-label "ours-2x+redis" \
        --baseline "http://127.0.0.1:$P_OURS" --baseline-label "ours-1x" --connections "$S6_CONNECTIONS" --duration "$S6_DURATION" --rounds "$S6_ROUNDS"
      stop_bg_all
      [ "$S6_PLAIN" = 1 ] || continue
      # the same for plain SignalR: what a backplane costs without our service around it.
      start_bg plain-a "$P_PLAIN_A" "${LT[*]} baseline --port $P_PLAIN_A --redis $redis_conf$BASELINE_REDIS_PROTOCOLS" "DOTNET_gcServer=$BASELINE_GC_SERVER"
      start_bg plain-b "$P_PLAIN_B" "${LT[*]} baseline --port $P_PLAIN_B --redis $redis_conf$BASELINE_REDIS_PROTOCOLS" "DOTNET_gcServer=$BASELINE_GC_SERVER"
      start_bg plain-1 "$P_BASE" "${LT[*]} baseline --port $P_BASE" "DOTNET_gcServer=$BASELINE_GC_SERVER"
      run S6-plain --scenario S6 --target "http://127.0.0.1:$P_PLAIN_A,http://127.0.0.1:$P_PLAIN_B" --target-label "plain-2x+redis" \
        --baseline "http://127.0.0.1:$P_BASE" --baseline-label "plain-1x" --connections "$S6_CONNECTIONS" --duration "$S6_DURATION" --rounds "$S6_ROUNDS"
      stop_bg_all
      ;;
    S6T)
      # S6's set-up under S4's load: targeted sends to single users (the send API on the first instance, the users
      # spread over both), so what Redis costs a push to one user shows, in sends/s, latency and CPU at a fixed rate.
      start_redis || continue
      if start_pg; then fresh_pg s6t; s6_env=("${PG_ENV[@]}"); else s6_env=("${SQLITE_ENV[@]}"); fi
      redis_conf="127.0.0.1:$REDIS_PORT,abortConnect=false"
      s6t_load=(--connections "$S6_CONNECTIONS" --duration "$S4_DURATION" --send-concurrency "$S4_SEND_CONCURRENCY"
        --send-rate "$S6T_SEND_RATE" --rounds "$S6_ROUNDS")
      start_bg ours-a "$P_A" "$(ours_cmd "$P_A" "$redis_conf")" "${s6_env[@]}" "Redis__Configuration=$redis_conf" "Redis__ChannelPrefix=bench"
      start_bg ours-b "$P_B" "$(ours_cmd "$P_B" "$redis_conf")" "${s6_env[@]}" "Redis__Configuration=$redis_conf" "Redis__ChannelPrefix=bench"
      start_bg ours-1 "$P_OURS" "$(ours_cmd "$P_OURS")" "${s6_env[@]}"
      run S6T --scenario S4 --target "http://127.0.0.1:$P_A,http://127.0.0.1:$P_B" --target-label "ours-2x+redis" \
        --target-pid "${PIDS[0]},${PIDS[1]}" --baseline "http://127.0.0.1:$P_OURS" --baseline-label "ours-1x" \
        --baseline-pid "${PIDS[2]}" "${s6t_load[@]}"
      stop_bg_all
      [ "$S6_PLAIN" = 1 ] || continue
      start_bg plain-a "$P_PLAIN_A" "${LT[*]} baseline --port $P_PLAIN_A --redis $redis_conf$BASELINE_REDIS_PROTOCOLS" "DOTNET_gcServer=$BASELINE_GC_SERVER"
      start_bg plain-b "$P_PLAIN_B" "${LT[*]} baseline --port $P_PLAIN_B --redis $redis_conf$BASELINE_REDIS_PROTOCOLS" "DOTNET_gcServer=$BASELINE_GC_SERVER"
      start_bg plain-1 "$P_BASE" "${LT[*]} baseline --port $P_BASE" "DOTNET_gcServer=$BASELINE_GC_SERVER"
      run S6T-plain --scenario S4 --target "http://127.0.0.1:$P_PLAIN_A,http://127.0.0.1:$P_PLAIN_B" --target-label "plain-2x+redis" \
        --target-pid "${PIDS[0]},${PIDS[1]}" --baseline "http://127.0.0.1:$P_BASE" --baseline-label "plain-1x" \
        --baseline-pid "${PIDS[2]}" "${s6t_load[@]}"
      stop_bg_all
      ;;
    S6AB)
      # S6's pair at this tree (target) against S6's pair built from AB_REV (baseline), each on its own Redis channel
      # prefix and database, same broadcast load, interleaved rounds: a bisect step for the backplane's cost.
      if [ -z "${AB_REV:-}" ] || [ "$SELF_TEST" = 1 ]; then echo "S6AB needs AB_REV=<git revision> (and not SELF_TEST)" >&2; exit 2; fi
      start_redis || continue
      start_pg || { log "S6AB needs PostgreSQL: skipped"; continue; }
      ab_rev=$(publish_rev "$AB_REV" "$OUT/api-ab")
      here_dir=$OUT/api here_label=ours-2x+redis
      if [ -n "${AB_HERE:-}" ]; then
        here_label="ours-2x+redis@$(publish_rev "$AB_HERE" "$OUT/api-here")" here_dir=$OUT/api-here
      fi
      redis_conf="127.0.0.1:$REDIS_PORT,abortConnect=false"
      fresh_pg s6ab_here; here_env=("${PG_ENV[@]}")
      fresh_pg s6ab_rev; rev_env=("${PG_ENV[@]}")
      BG_DIR="$here_dir" start_bg ours-a "$P_A" "dotnet $here_dir/Notifications.Api.dll" "${here_env[@]}" "Redis__Configuration=$redis_conf" "Redis__ChannelPrefix=bench-here"
      BG_DIR="$here_dir" start_bg ours-b "$P_B" "dotnet $here_dir/Notifications.Api.dll" "${here_env[@]}" "Redis__Configuration=$redis_conf" "Redis__ChannelPrefix=bench-here"
      BG_DIR="$OUT/api-ab" start_bg rev-a "$P_PLAIN_A" "dotnet $OUT/api-ab/Notifications.Api.dll" "${rev_env[@]}" "Redis__Configuration=$redis_conf" "Redis__ChannelPrefix=bench-rev"
      BG_DIR="$OUT/api-ab" start_bg rev-b "$P_PLAIN_B" "dotnet $OUT/api-ab/Notifications.Api.dll" "${rev_env[@]}" "Redis__Configuration=$redis_conf" "Redis__ChannelPrefix=bench-rev"
      run S6AB --scenario S6 --target "http://127.0.0.1:$P_A,http://127.0.0.1:$P_B" --target-label "$here_label" \
        --target-pid "${PIDS[0]},${PIDS[1]}" --baseline "http://127.0.0.1:$P_PLAIN_A,http://127.0.0.1:$P_PLAIN_B" \
        --baseline-label "ours-2x+redis@$ab_rev" --baseline-pid "${PIDS[2]},${PIDS[3]}" --connections "$S6_CONNECTIONS" \
        --duration "$S6_DURATION" --rounds "$S6_ROUNDS"
      stop_bg_all
      ;;
    *)
      echo "unknown scenario $s (S1 … S6, S6T, S6AB)" >&2
      exit 2
      ;;
  esac
done

# the summary covers what did run; the exit code says whether everything did
failed() {
  if [ "${#FAILED[@]}" -gt 0 ]; then log "failed: ${FAILED[*]}"; exit 1; fi
}
if [ "${#RESULTS[@]}" = 0 ]; then failed; exit 0; fi
{
  echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2> /dev/null || echo '?')"
  echo
  echo "Kernel $(uname -r), .NET SDK $(dotnet --version), load average before the run: $LOAD_BEFORE."
  echo "Settings: PROTOCOL=$PROTOCOL ROUNDS=$ROUNDS JIT_WARMUP=$JIT_WARMUP QUICK=$QUICK SELF_TEST=$SELF_TEST PG_FAST=$PG_FAST API_ENVIRONMENT=$API_ENVIRONMENT OURS_GC_SERVER=${OURS_GC_SERVER:-unset} BASELINE_GC_SERVER=$BASELINE_GC_SERVER S5=$S5_NOTIFICATIONS/$S5_USERS S5_READ_DURATION=$S5_READ_DURATION S1_ROUNDS=$S1_ROUNDS S6_ROUNDS=$S6_ROUNDS"
  echo
  "${LT[@]}" report "${RESULTS[@]}"
} > "$OUT/summary.md"
log "done in $(($(date +%s) - started)) s: $OUT/summary.md, $OUT/results.txt, $OUT/*.json"
failed
