# Sourced by scripts/test-web and scripts/bench-mirror (bash), after tests/web/server.sh.
# machimap_static_start: writes the static site of $MACHIMAP_DB (`machimap export-site`) into
# $MACHIMAP_WORK/site and serves that folder with nginx on a free loopback port,
# with CORS (the live page reads the mirror from another origin) and range requests (nginx's
# own). No machimap process is involved in answering it. Exports MACHIMAP_STATIC_BASE and
# MACHIMAP_STATIC_DIR; nginx is stopped on exit.

machimap_nginx_conf() { # port root conf-dir [worker_connections]
  local port="$1" root="$2" dir="$3" conns="${4:-1024}"
  mkdir -p "$dir/tmp" "$dir/logs"
  local user=""
  if [ "$(id -u)" -eq 0 ]; then user="user root;"; fi
  cat >"$dir/nginx.conf" <<CONF
$user
worker_processes auto;
worker_rlimit_nofile 20000;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections $conns; }
http {
  include /etc/nginx/mime.types;
  types { application/octet-stream pmtiles; application/ld+json jsonld; }
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  gzip on;
  gzip_types application/json application/javascript text/css application/ld+json text/csv application/geo+json application/wasm;
  gzip_static on;
  server {
    listen 127.0.0.1:$port;
    root $root;
    disable_symlinks off;
    add_header Access-Control-Allow-Origin "*" always;
    add_header Access-Control-Expose-Headers "Content-Range, Content-Length, ETag" always;
    add_header X-Content-Type-Options nosniff always;
    location / {
      if (\$request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin "*";
        add_header Access-Control-Allow-Headers "Range, If-None-Match";
        return 204;
      }
    }
  }
}
CONF
}

_machimap_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

_machimap_static_cleanup() {
  if [ -n "${MACHIMAP_NGINX_PID:-}" ]; then
    kill "$MACHIMAP_NGINX_PID" 2>/dev/null || true
    wait "$MACHIMAP_NGINX_PID" 2>/dev/null || true
  fi
  _machimap_web_cleanup
}

machimap_static_start() {
  MACHIMAP_STATIC_DIR="$MACHIMAP_WORK/site"
  "$MACHIMAP_BIN" export-site --db "$MACHIMAP_DB" --out "$MACHIMAP_STATIC_DIR" \
    --zip "$MACHIMAP_WORK/site.zip" >&2
  # nginx's workers read the files: the temp folder is private by default.
  chmod 755 "$MACHIMAP_WORK"
  local port; port="$(_machimap_free_port)"
  machimap_nginx_conf "$port" "$MACHIMAP_STATIC_DIR" "$MACHIMAP_WORK/nginx"
  nginx -c "$MACHIMAP_WORK/nginx/nginx.conf" -e "$MACHIMAP_WORK/nginx/logs/error.log" &
  MACHIMAP_NGINX_PID=$!
  trap _machimap_static_cleanup EXIT
  MACHIMAP_STATIC_BASE="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$MACHIMAP_STATIC_BASE/current/manifest.json" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -o /dev/null "$MACHIMAP_STATIC_BASE/current/manifest.json"
  export MACHIMAP_STATIC_BASE MACHIMAP_STATIC_DIR MACHIMAP_NGINX_PID
  echo "nginx serving the static site on $MACHIMAP_STATIC_BASE" >&2
}
