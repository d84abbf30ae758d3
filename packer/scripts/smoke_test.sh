#!/usr/bin/env bash
# The Test stage's driver: boot AMI $1 in the build subnet, run check script $2 on it through SSM Run Command,
# print what it said, and terminate the instance whatever happens. Exit 0 only when the checks passed.
set -euo pipefail
ami="$1"
checks="$2"
: "${PKR_VAR_subnet_id:?PKR_VAR_subnet_id is required}"
: "${PKR_VAR_security_group_id:?PKR_VAR_security_group_id is required}"
: "${PKR_VAR_iam_instance_profile:?PKR_VAR_iam_instance_profile is required}"
[[ "$ami" =~ ^ami-[0-9a-f]{8,17}$ ]] || { echo "smoke test: '$ami' is not an AMI id" >&2; exit 2; }
# bakery:build marks the instance and its volume as this build's: a build killed at its timeout skips the EXIT
# trap below, and the bot's leak sweep terminates what carries the marker once it is older than the timeout.
build="${PIPELINE_EXECUTION_ID:-${CODEBUILD_BUILD_ID:-local}}"
[[ "$build" =~ ^[A-Za-z0-9._:-]{1,128}$ ]] || { echo "smoke test: '$build' is not a build id" >&2; exit 2; }
tags="{Key=bakery:test-of,Value=$ami},{Key=bakery:build,Value=$build}"

# The same subnet, security group and instance profile as the build, access through SSM: no public IP, except in
# the bakery's NetworkMode public (no NAT gateway), whose projects set PKR_VAR_associate_public_ip_address=true.
case "${PKR_VAR_associate_public_ip_address:-false}" in
  false) public_ip=--no-associate-public-ip-address ;;
  true) public_ip=--associate-public-ip-address ;;
  *) echo "smoke test: PKR_VAR_associate_public_ip_address must be true or false" >&2; exit 2 ;;
esac
# No --metadata-options: IMDSv2 must be the AMI's own default (imds_support), which the checks then prove.
instance="$(aws ec2 run-instances --image-id "$ami" --instance-type "${TEST_INSTANCE_TYPE:-t3.micro}" \
  --subnet-id "$PKR_VAR_subnet_id" --security-group-ids "$PKR_VAR_security_group_id" \
  --iam-instance-profile "Name=$PKR_VAR_iam_instance_profile" "$public_ip" \
  --tag-specifications "ResourceType=instance,Tags=[{Key=Name,Value=bakery-test},$tags]" "ResourceType=volume,Tags=[$tags]" \
  --query 'Instances[0].InstanceId' --output text)"
trap 'aws ec2 terminate-instances --instance-ids "$instance" > /dev/null' EXIT
echo "smoke test: $ami booting as $instance"
aws ec2 wait instance-running --instance-ids "$instance"

# Up to 10 minutes for the SSM agent to register: cold boots of a fresh AMI are slow.
ping=""
for _ in $(seq 60); do
  ping="$(aws ssm describe-instance-information --filters "Key=InstanceIds,Values=$instance" \
    --query 'InstanceInformationList[0].PingStatus' --output text)"
  [ "$ping" = Online ] && break
  sleep 10
done
[ "$ping" = Online ] || { echo "smoke test: $instance never came online in SSM" >&2; exit 1; }

# The script travels as JSON data (jq --rawfile), not through this shell's word splitting.
params="$(jq -n --rawfile script "$checks" '{commands: [$script], executionTimeout: ["600"]}')"
command_id="$(aws ssm send-command --instance-ids "$instance" --document-name AWS-RunShellScript \
  --parameters "$params" --query Command.CommandId --output text)"
aws ssm wait command-executed --command-id "$command_id" --instance-id "$instance" || true
aws ssm get-command-invocation --command-id "$command_id" --instance-id "$instance" \
  --query '[StandardOutputContent, StandardErrorContent]' --output text
status="$(aws ssm get-command-invocation --command-id "$command_id" --instance-id "$instance" \
  --query Status --output text)"
echo "smoke test: checks on $ami: $status"
[ "$status" = Success ]
