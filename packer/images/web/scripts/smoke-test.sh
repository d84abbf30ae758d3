#!/usr/bin/env bash
# Checks run on an instance booted from the new AMI (Test stage): the base holds and nginx serves /health.
set -euo pipefail

systemctl is-active --quiet amazon-ssm-agent
systemctl is-active --quiet auditd
sshd -T | grep -x 'permitrootlogin no' > /dev/null  # not -q: an early exit would SIGPIPE sshd under pipefail
sshd -T | grep -x 'passwordauthentication no' > /dev/null
# IMDSv1 refused: a request without a session token gets 401.
[ "$(curl -s -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/)" = 401 ]
systemctl is-active --quiet nginx
curl -fsS http://localhost/health | grep "\"status\": \"ok\"" > /dev/null
echo "web checks passed"
