#!/usr/bin/env bash
# Starts dockerd (Debian's docker.io) unless one already answers on /var/run/docker.sock, and
# waits until it does. Its log goes to /tmp/kiln-dockerd.log.
set -euo pipefail
sock=/var/run/docker.sock
answers() { curl -fsS --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }
answers && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO sh -c 'nohup dockerd >/tmp/kiln-dockerd.log 2>&1 &'
for _ in $(seq 1 60); do
  answers && exit 0
  sleep 0.5
done
echo "start-docker: dockerd did not answer on $sock within 30 s; its log:" >&2
tail -n 20 /tmp/kiln-dockerd.log >&2
exit 1
