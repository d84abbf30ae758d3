#!/usr/bin/env bash
# The AMI's package list, taken on the build instance after the image's last script (both templates run it from
# the build image's /opt/bakery): one "name epoch:version-release.arch" line a package, sorted, so two AMIs'
# lists compare with diff. The templates download it as packages.txt and remove it before the snapshot.
set -euo pipefail

rpm -qa --queryformat '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\n' | sort > /tmp/bakery-packages.txt
