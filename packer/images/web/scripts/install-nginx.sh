#!/usr/bin/env bash
# The application: nginx with a health page that names the baked version, for the Test stage and load balancers.
set -euo pipefail
: "${APP_VERSION:?APP_VERSION is required}"

dnf -y install nginx
install -d -m 0755 /usr/share/nginx/html/health
# printf with the value as an argument, never as the format: the version is data.
printf '{"status": "ok", "app_version": "%s"}\n' "$APP_VERSION" > /usr/share/nginx/html/health/index.json

cat > /etc/nginx/default.d/health.conf <<'CONF'
location = /health {
    default_type application/json;
    alias /usr/share/nginx/html/health/index.json;
}
CONF
# No version in the Server header or error pages.
cat > /etc/nginx/conf.d/bakery.conf <<'CONF'
server_tokens off;
CONF
nginx -t
systemctl enable nginx
