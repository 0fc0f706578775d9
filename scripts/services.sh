#!/usr/bin/env bash
# Makes sure the services factum's tests and benchmarks use are up on 127.0.0.1, starting the ones
# that are not, and waits until each answers. Safe to run again: running services are left alone.
# Usage: bash scripts/services.sh        (exit 1 if one cannot be brought up)
set -u

wait_for() { # name, seconds, command...
  local name=$1 seconds=$2; shift 2
  for _ in $(seq 1 "$seconds"); do
    if "$@" >/dev/null 2>&1; then echo "  $name: up"; return 0; fi
    sleep 1
  done
  echo "  $name: NOT reachable after ${seconds}s" >&2
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

status=0
echo "services:"

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
fi
wait_for postgresql 60 pg_isready -h 127.0.0.1 -p 5432 -q || status=1

if ! port_open 5672; then
  rabbitmq-server -detached || true
fi
wait_for rabbitmq 90 port_open 5672 || status=1

if ! port_open 4222; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
fi
wait_for nats 30 port_open 4222 || status=1

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
wait_for redis 30 redis-cli -h 127.0.0.1 -p 6379 ping || status=1

# Kafka: librdkafka's mock cluster (no Kafka broker is packaged here), built from scripts/kafka-mock/
# with gcc against Debian's librdkafka-dev. Its ports are its own choice: the bootstrap address is
# written to $KAFKA_MOCK_DIR/bootstrap (test/services.ts reads it). It keeps everything in memory.
KAFKA_MOCK_DIR=${FACTUM_KAFKA_MOCK_DIR:-/tmp/factum-kafka-mock}
repo=$(cd "$(dirname "$0")/.." && pwd)
kafka_mock_up() {
  local bootstrap port
  bootstrap=$(cat "$KAFKA_MOCK_DIR/bootstrap" 2>/dev/null) || return 1
  port=${bootstrap%%,*}; port=${port##*:}
  [ -n "$port" ] && kill -0 "$(cat "$KAFKA_MOCK_DIR/pid" 2>/dev/null)" 2>/dev/null && port_open "$port"
}
if ! kafka_mock_up; then
  if [ ! -f /usr/include/librdkafka/rdkafka_mock.h ]; then
    apt-get install -y librdkafka-dev >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1; apt-get install -y librdkafka-dev >/dev/null 2>&1; } || true
  fi
  mkdir -p "$repo/.services" "$KAFKA_MOCK_DIR"
  if [ ! -x "$repo/.services/kafka-mock" ] || [ "$repo/scripts/kafka-mock/kafka-mock.c" -nt "$repo/.services/kafka-mock" ]; then
    gcc -O2 -Wall -o "$repo/.services/kafka-mock" "$repo/scripts/kafka-mock/kafka-mock.c" -lrdkafka || true
  fi
  rm -f "$KAFKA_MOCK_DIR/bootstrap" "$KAFKA_MOCK_DIR/pid" "$KAFKA_MOCK_DIR/state"
  if [ -x "$repo/.services/kafka-mock" ]; then
    setsid "$repo/.services/kafka-mock" "$KAFKA_MOCK_DIR" >"$KAFKA_MOCK_DIR/log" 2>&1 < /dev/null &
  fi
fi
wait_for kafka-mock 30 kafka_mock_up || status=1

# Chromium for the dashboard's browser tests (playwright-core drives Debian's build, not a
# downloaded one). Installed once; apt-get update only when the install cannot find it.
if [ ! -x /usr/bin/chromium ]; then
  apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1; apt-get install -y chromium >/dev/null 2>&1; } || true
fi
if [ -x /usr/bin/chromium ]; then echo "  chromium: installed"; else echo "  chromium: NOT installed (apt-get install -y chromium)" >&2; status=1; fi

exit $status
