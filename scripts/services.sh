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

exit $status
