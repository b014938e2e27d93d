# Helper for bench scripts: serve folder $1 on 127.0.0.1:$2 with Debian's nginx (Range
# support), until the calling script exits. Usage: . bench/nginx.sh DIR PORT
NGX=$(mktemp -d /tmp/tally-bench-nginx.XXXXXX)
chmod 755 "$NGX" "$1"
cat > "$NGX/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $NGX/nginx.pid;
error_log $NGX/error.log;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $NGX; proxy_temp_path $NGX; fastcgi_temp_path $NGX; uwsgi_temp_path $NGX; scgi_temp_path $NGX;
    server { listen 127.0.0.1:$2; root $1; }
}
CONF
nginx -c "$NGX/nginx.conf" -e "$NGX/error.log" &
NGINX_PID=$!
trap 'kill $NGINX_PID 2>/dev/null; rm -rf "$NGX"' EXIT
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$2/" && break; sleep 0.1; done
