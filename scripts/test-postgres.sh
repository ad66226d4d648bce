#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for one test run (never a system service).
#   scripts/test-postgres.sh start DIR PORT   prints the URL for KEFU_TEST_DATABASE_URL
#   scripts/test-postgres.sh stop DIR
set -euo pipefail

action="$1"; dir="$2"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [[ -z "$pgbin" ]]; then
    echo "test-postgres: PostgreSQL not installed; run: apt-get install -y postgresql" >&2
    exit 1
fi
as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
start)
    port="$3"
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then chown postgres "$dir"; fi
    as_postgres "$pgbin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
    as_postgres "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    if [[ -d "$dir/data" ]]; then
        as_postgres "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
