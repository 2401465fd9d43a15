#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests, as the Postfix e2e runs its own Postfix:
#   cluster.sh start FOLDER PORT   initdb in FOLDER, listen on 127.0.0.1:PORT only, print the URL
#   cluster.sh stop FOLDER         stop it (the folder is left for the caller to remove)
# Trust authentication on loopback for the user `veil`; nothing outside FOLDER is touched. As root
# (CI), the server runs as the `postgres` user Debian's package creates: initdb refuses root.
set -euo pipefail

command=${1:?usage: cluster.sh start FOLDER PORT | stop FOLDER}
folder=${2:?folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "cluster.sh: no PostgreSQL server found (apt-get install postgresql-15)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
start)
    port=${3:?port}
    mkdir -p "$folder"
    [ "$(id -u)" = 0 ] && chown postgres "$folder"
    as_owner "$bin/initdb" -D "$folder/data" -U veil --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$folder/initdb.log"
    as_owner "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $folder -c fsync=off -c max_connections=300" start >/dev/null
    echo "postgres://veil@127.0.0.1:$port/postgres"
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$folder/data" -m fast -w stop >/dev/null
    ;;
*)
    echo "cluster.sh: unknown command $command" >&2
    exit 2
    ;;
esac
