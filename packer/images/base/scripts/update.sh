#!/usr/bin/env bash
# Bring the source AMI's packages up to date: a fresh bake must carry every security fix released so far.
set -euo pipefail

# AL2023 locks each AMI to a repository release; --releasever=latest moves to the newest one, which is what a
# rebake for a CVE needs.
dnf -y --releasever=latest upgrade --refresh
dnf -y install audit amazon-ssm-agent
dnf clean all
