#!/usr/bin/env bash
# Leave nothing of this build instance in the AMI: every instance launched from it must start fresh.
set -euo pipefail

# cloud-init runs again at first boot (new host keys, the launch's own key pair, instance id).
cloud-init clean --logs --seed
rm -f /etc/ssh/ssh_host_*
# Packer's temporary key; cloud-init installs the launch's key at first boot.
rm -f /home/ec2-user/.ssh/authorized_keys /root/.ssh/authorized_keys
truncate -s 0 /etc/machine-id
find /var/log -type f -name '*.log' -exec truncate -s 0 {} +
# /tmp is a tmpfs on AL2023 (and holds this script while it runs): nothing to clear there.
rm -rf /var/tmp/*
