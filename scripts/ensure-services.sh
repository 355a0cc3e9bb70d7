#!/usr/bin/env bash
# The tests talk to a real PostgreSQL (127.0.0.1:5432, user postgres, trust auth) and a real
# Redis (127.0.0.1:6379). Start them when they are down, with the commands of this kind of
# machine (Debian packages); elsewhere, say what is missing instead of failing later.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }

wait_for() {  # name, check
  for _ in $(seq 30); do "$2" && return 0; sleep 1; done
  echo "ensure-services: $1 did not come up" >&2
  return 1
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "ensure-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    wait_for PostgreSQL pg_up
  else
    echo "ensure-services: no PostgreSQL on 127.0.0.1:5432 and none to start here" >&2
    echo "  (set DISPARO_TEST_PG_URL to an admin URL of a server that can create databases)" >&2
    exit 1
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "ensure-services: starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for Redis redis_up
  else
    echo "ensure-services: no Redis on 127.0.0.1:6379 and no redis-server to start" >&2
    exit 1
  fi
fi

# MariaDB for the WordPress plugin's tests (root on 127.0.0.1:3306, no password).
mariadb_up() { mysql -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1; }
if ! mariadb_up; then
  if command -v mysqld_safe >/dev/null; then
    echo "ensure-services: starting MariaDB"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    (setsid mysqld_safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &)
    # root must be able to log in over TCP without a password (the tests' scratch sites).
    wait_for MariaDB mariadb_up
  else
    echo "ensure-services: no MariaDB on 127.0.0.1:3306 and no mysqld_safe to start" >&2
    exit 1
  fi
fi

# The fault suite (tests/faults) starts and breaks its own Redis and PostgreSQL servers.
if ! command -v redis-server >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "ensure-services: tests/faults needs redis-server and PostgreSQL's initdb/pg_ctl" >&2
  echo "  (Debian: apt-get install redis-server postgresql)" >&2
  exit 1
fi

# tests/faults/test_redis_sentinel.py runs its own redis-sentinel processes, and
# tests/faults/test_many_hosts.py builds network namespaces with iproute2 (as root).
for tool in redis-sentinel:redis-sentinel ip:iproute2; do
  if ! command -v "${tool%%:*}" >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "ensure-services: installing ${tool##*:}"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${tool##*:}" >/dev/null
    else
      echo "ensure-services: tests/faults needs ${tool%%:*} (Debian: apt-get install ${tool##*:})" >&2
      exit 1
    fi
  fi
done
