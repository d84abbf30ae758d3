#!/usr/bin/env bash
# Deploys (or updates) the whole bakery, one CloudFormation stack at a time, in dependency order:
# every stack only imports what an earlier one exports. Re-running it changes only what changed.
#
#   IMAGES="base web:base" BUILD_IMAGE_TAG=2026-11-26.1 BOT_IMAGE_TAG=0.1.0 \
#   SLACK_BOT_TOKEN_SECRET_ARN=arn:aws:secretsmanager:... SLACK_APP_TOKEN_SECRET_ARN=arn:aws:secretsmanager:... \
#   BAKERY_YAML=bakery.yaml infra/deploy.sh
#
# Region and credentials come from the usual AWS environment (AWS_REGION, AWS_PROFILE, ...).
# The two images must already be in their ECR repositories (README.md, Deploying on AWS says how): the first run
# can stop after the repositories with STOP_AFTER=repositories, push, and run again.
# A member account's stacks: `infra/deploy.sh member`, with that account's credentials (deploy_member below).
# NETWORK_MODE=public: the low-cost network (README.md, What it costs): public subnets and no NAT gateway, the build
# and test instances and the bot with a public address and no inbound rule, no interface endpoints. The default,
# private, is the NAT gateway and private subnets. A deployed bakery keeps the mode it was first deployed with.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX="${NAME_PREFIX:-ami-bakery}"
NETWORK_MODE="${NETWORK_MODE:-private}"
case "$NETWORK_MODE" in
  private) WITH_ENDPOINTS="${WITH_ENDPOINTS:-1}" ;;  # 0: no interface endpoints, AWS calls go through the NAT gateway
  public)
    # The interface endpoints live in the private subnets, which the public mode does not have.
    WITH_ENDPOINTS="${WITH_ENDPOINTS:-0}"
    if [ "$WITH_ENDPOINTS" != 0 ]; then
      echo "NETWORK_MODE=public has no private subnets for interface endpoints: leave WITH_ENDPOINTS unset or 0" >&2
      exit 2
    fi ;;
  *) echo "NETWORK_MODE must be private or public, not '$NETWORK_MODE'" >&2; exit 2 ;;
esac
CONFIG_PARAMETER="${CONFIG_PARAMETER:-/bakery/config}"
STOP_AFTER="${STOP_AFTER:-}"

deploy() {  # deploy STACK TEMPLATE [Key=Value ...]
  local stack="$1" template="$2"
  shift 2
  echo "== $stack ($template)"
  aws cloudformation deploy \
    --stack-name "$stack" \
    --template-file "$template" \
    --parameter-overrides NamePrefix="$PREFIX" "$@" \
    --capabilities CAPABILITY_NAMED_IAM \
    --no-fail-on-empty-changeset \
    --tags "project=$PREFIX"
}

# The subnets differ between the modes and the build projects and the bot import them, so CloudFormation would
# refuse a switch half-way (an export in use cannot change); refuse it here first, before anything is deployed.
check_network_mode() {
  local deployed
  # No network stack yet (the call fails): nothing to keep.
  deployed="$(aws cloudformation describe-stacks --stack-name "$PREFIX-network" \
    --query "Stacks[0].Parameters[?ParameterKey=='NetworkMode'].ParameterValue" --output text 2>/dev/null)" || return 0
  # A stack deployed before the parameter existed names none: it is private.
  case "$deployed" in "" | None) deployed=private ;; esac
  if [ "$deployed" != "$NETWORK_MODE" ]; then
    echo "$PREFIX-network is deployed with NetworkMode=$deployed; NETWORK_MODE=$NETWORK_MODE would switch it." >&2
    echo "A bakery keeps its network mode: deploy another one with NAME_PREFIX (README.md, What it costs)." >&2
    exit 2
  fi
}

deploy_bakery() {  # the bakery account, in its order
  check_network_mode
  deploy "$PREFIX-network" infra/cloudformation/network.yaml NetworkMode="$NETWORK_MODE"
  if [ "$WITH_ENDPOINTS" = 1 ]; then
    deploy "$PREFIX-endpoints" infra/cloudformation/endpoints.yaml
  fi
  # UPSTREAM_TOPIC_ARN: an upstream AMI release topic to subscribe the queue to, if any (README.md, Deploying on AWS).
  # MEMBER_ACCOUNTS: comma-separated member accounts whose pipeline events the bus accepts and that may use the AMI key.
  deploy "$PREFIX-notifications" infra/cloudformation/notifications.yaml ${UPSTREAM_TOPIC_ARN:+UpstreamTopicArn="$UPSTREAM_TOPIC_ARN"} \
    ${MEMBER_ACCOUNTS:+MemberAccounts="$MEMBER_ACCOUNTS"}
  deploy "$PREFIX-state" infra/cloudformation/state.yaml
  deploy "$PREFIX-build-image-repository" infra/cloudformation/container-repository.yaml RepositoryRole=build-image
  deploy "$PREFIX-bot-repository" infra/cloudformation/container-repository.yaml RepositoryRole=bot
  [ "$STOP_AFTER" = repositories ] && return 0

  : "${BUILD_IMAGE_TAG:?set BUILD_IMAGE_TAG to the Packer build image tag pushed to $PREFIX-build-image}"
  # The AMI key (customer-managed, never aws/ebs: its AMIs could not be shared). The Bake project encrypts with it
  # (PKR_VAR_kms_key_id, imported) and the bake role may use it (BuildKmsKeyArn): the same key, its stack's output.
  deploy "$PREFIX-ami-key" infra/cloudformation/ami-key.yaml ${MEMBER_ACCOUNTS:+MemberAccounts="$MEMBER_ACCOUNTS"}
  AMI_KEY_ARN="$(aws cloudformation describe-stacks --stack-name "$PREFIX-ami-key" \
    --query "Stacks[0].Outputs[?OutputKey=='AmiKeyArn'].OutputValue" --output text)"
  deploy "$PREFIX-build-roles" infra/cloudformation/build-roles.yaml BuildKmsKeyArn="$AMI_KEY_ARN"
  deploy "$PREFIX-build-projects" infra/cloudformation/build-projects.yaml BuildImageTag="$BUILD_IMAGE_TAG" \
    NetworkMode="$NETWORK_MODE"

  deploy_images

  : "${BOT_IMAGE_TAG:?set BOT_IMAGE_TAG to the bot image tag pushed to $PREFIX-bot}"
  : "${SLACK_BOT_TOKEN_SECRET_ARN:?create the secret first (README.md, Deploying on AWS)}"
  : "${SLACK_APP_TOKEN_SECRET_ARN:?create the secret first (README.md, Deploying on AWS)}"
  : "${BAKERY_YAML:?set BAKERY_YAML to the bot configuration file}"
  # bakery.yaml holds no secrets (CONTRACT section 3), so a String parameter; Advanced tier past 4 KB.
  aws ssm put-parameter --name "$CONFIG_PARAMETER" --type String --overwrite \
    --tier Intelligent-Tiering --value "file://$BAKERY_YAML" >/dev/null
  deploy "$PREFIX-bot-role" infra/cloudformation/bot-role.yaml
  deploy "$PREFIX-bot" infra/cloudformation/bot.yaml \
    BotImageTag="$BOT_IMAGE_TAG" \
    SlackBotTokenSecretArn="$SLACK_BOT_TOKEN_SECRET_ARN" \
    SlackAppTokenSecretArn="$SLACK_APP_TOKEN_SECRET_ARN" \
    ConfigParameterName="$CONFIG_PARAMETER" \
    NetworkMode="$NETWORK_MODE"
  # ECS reads the configuration parameter and the secrets when a task starts: restart the bot so a
  # changed bakery.yaml or token takes effect (events wait in the queue meanwhile).
  aws ecs update-service --cluster "$PREFIX" --service "$PREFIX-bot" --force-new-deployment >/dev/null
}

# One stack per image: adding an image is adding its name here, as <name>:<parent> for a child image, which then
# bakes on its parent's released AMI (/bakery/images/<parent>/latest) and never on stock Amazon Linux; and as
# <name>:<parent>:<path> (a root image: <name>::<path>) when its directory is not the repository root (its `path`).
deploy_images() {  # deploy_images [Key=Value ...]: one image.yaml stack per IMAGES entry, with these parameters too
  local entry image rest parent path
  for entry in ${IMAGES:?set IMAGES to the image names, a child as name:parent, e.g. IMAGES=\"base web:base\"}; do
    image="${entry%%:*}"
    rest=""
    [ "$entry" = "$image" ] || rest="${entry#*:}"
    parent="${rest%%:*}"
    path=""
    [ "$rest" = "$parent" ] || path="${rest#*:}"
    deploy "$PREFIX-image-$image" infra/cloudformation/image.yaml ImageName="$image" ParentImage="$parent" ImagePath="$path" "$@"
  done
}

# A member account (CONTRACT section 13), with that account's credentials: everything its own images' pipelines need,
# in its order (README.md, Deploying on AWS, A member account). Its pipelines notify the BAKERY's topic, named by
# ARN with its key (nothing of the bakery's is imported here), and Packer encrypts with the bakery's AMI key.
#   BAKERY_ACCOUNT_ID=... BAKERY_BOT_ROLE_ARN=... BAKERY_EXTERNAL_ID=... \
#   BAKERY_TOPIC_ARN=... BAKERY_TOPIC_KEY_ARN=... BAKERY_AMI_KEY_ARN=... \
#   IMAGES="web:base" BUILD_IMAGE_TAG=2026-11-26.1 infra/deploy.sh member
# STOP_AFTER=member deploys the role and the event forwarding only; STOP_AFTER=repositories stops before the builds,
# as for the bakery, so the build image can be pushed to this account's repository first.
deploy_member() {
  deploy "$PREFIX-member" infra/cloudformation/member-account.yaml \
    BakeryAccountId="${BAKERY_ACCOUNT_ID:?set BAKERY_ACCOUNT_ID to the bakery account}" \
    BakeryBotRoleArn="${BAKERY_BOT_ROLE_ARN:?set BAKERY_BOT_ROLE_ARN to the bakery bot-role stack output TaskRoleArn}" \
    ExternalId="${BAKERY_EXTERNAL_ID:?set BAKERY_EXTERNAL_ID to the external id the bot sends}"
  [ "$STOP_AFTER" = member ] && return 0
  check_network_mode
  deploy "$PREFIX-network" infra/cloudformation/network.yaml NetworkMode="$NETWORK_MODE"
  if [ "$WITH_ENDPOINTS" = 1 ]; then
    deploy "$PREFIX-endpoints" infra/cloudformation/endpoints.yaml
  fi
  # This account's own copy of the Packer build image (README.md says why not the bakery's by URI).
  deploy "$PREFIX-build-image-repository" infra/cloudformation/container-repository.yaml RepositoryRole=build-image
  [ "$STOP_AFTER" = repositories ] && return 0
  : "${BUILD_IMAGE_TAG:?set BUILD_IMAGE_TAG to the Packer build image tag pushed to $PREFIX-build-image in this account}"
  local topic="${BAKERY_TOPIC_ARN:?set BAKERY_TOPIC_ARN to the bakery notifications stack output TopicArn}"
  local topic_key="${BAKERY_TOPIC_KEY_ARN:?set BAKERY_TOPIC_KEY_ARN to the bakery notifications stack output TopicKeyArn}"
  local ami_key="${BAKERY_AMI_KEY_ARN:?set BAKERY_AMI_KEY_ARN to the bakery ami-key stack output AmiKeyArn (this region)}"
  deploy "$PREFIX-build-roles" infra/cloudformation/build-roles.yaml BuildKmsKeyArn="$ami_key" \
    BakeryTopicArn="$topic" BakeryTopicKeyArn="$topic_key"
  deploy "$PREFIX-build-projects" infra/cloudformation/build-projects.yaml BuildImageTag="$BUILD_IMAGE_TAG" \
    BakeryTopicArn="$topic" AmiKeyArn="$ami_key" NetworkMode="$NETWORK_MODE"
  # A child here (web:base) bakes on the AMI the bot pins in bake-request.json: the parent's release shared with
  # this account and region. /bakery/images/<parent>/latest lives in the parent's account, not here.
  deploy_images BakeryTopicArn="$topic" BakeryTopicKeyArn="$topic_key"
}

if [ "${1:-}" = member ]; then
  deploy_member
else
  deploy_bakery
fi
