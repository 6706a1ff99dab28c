#!/usr/bin/env bash
# Sourced by .ci/run before the tests: install (Debian's package) and start a throwaway
# PostgreSQL server on loopback, create a database, and export RECOMMENDER_TEST_POSTGRES_URL
# for tests/serving/test_postgres.py. Never fails the CI run: when something is missing it
# says why and leaves the variable unset, so that test is skipped with a message instead.
# The server is stopped when the sourcing shell exits.

ci_pg_port=54329
ci_pg_db=recommender_test

ci_pg_as_postgres() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ci_pg_start() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
      echo "postgres.sh: PostgreSQL is not installed and this user cannot apt-get it"; return 1
    fi
    echo "postgres.sh: installing PostgreSQL (apt-get)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq postgresql >/tmp/ci-postgres-apt.log 2>&1; }; then
      echo "postgres.sh: apt-get install postgresql failed:"; tail -n 5 /tmp/ci-postgres-apt.log
      return 1
    fi
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
  CI_PG_DATA=$(mktemp -d /tmp/ci-postgres.XXXXXX)
  [ "$(id -u)" = "0" ] && chown postgres "$CI_PG_DATA"
  ci_pg_as_postgres "$bin/initdb" -D "$CI_PG_DATA" -A trust -U postgres >/dev/null \
    || { echo "postgres.sh: initdb failed"; return 1; }
  ci_pg_as_postgres "$bin/pg_ctl" -D "$CI_PG_DATA" -l "$CI_PG_DATA/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $ci_pg_port -k $CI_PG_DATA" start >/dev/null \
    || { echo "postgres.sh: server did not start:"; tail -n 5 "$CI_PG_DATA/server.log"; return 1; }
  CI_PG_BIN=$bin
  trap 'ci_pg_as_postgres "$CI_PG_BIN/pg_ctl" -D "$CI_PG_DATA" -m fast stop >/dev/null 2>&1' EXIT
  ci_pg_as_postgres "$bin/createdb" -h 127.0.0.1 -p "$ci_pg_port" -U postgres "$ci_pg_db" \
    || { echo "postgres.sh: createdb failed"; return 1; }
  export RECOMMENDER_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$ci_pg_port/$ci_pg_db"
  echo "postgres.sh: PostgreSQL running on 127.0.0.1:$ci_pg_port"
}

ci_pg_start || echo "postgres.sh: continuing without PostgreSQL (its tests will be skipped)"
