#!/usr/bin/env bash
# Modest hardening every image inherits: no root or password SSH, SSM for access, auditd recording.
set -euo pipefail

# sshd reads drop-ins first-match-wins, before the main file's own settings.
install -d -m 0755 /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/10-bakery.conf <<'CONF'
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
X11Forwarding no
MaxAuthTries 3
CONF
chmod 0600 /etc/ssh/sshd_config.d/10-bakery.conf
sshd -t

# Access goes through Session Manager, not inbound SSH.
systemctl enable amazon-ssm-agent
# auditd refuses systemctl restart by design; enabling is enough for the next boot.
systemctl enable auditd

cat > /etc/sysctl.d/90-bakery.conf <<'CONF'
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.default.accept_redirects = 0
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.all.log_martians = 1
net.ipv6.conf.all.accept_redirects = 0
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
fs.suid_dumpable = 0
CONF
sysctl --system > /dev/null
