# The base image: Amazon Linux 2023, updated and hardened; every application image is baked on top of it.

locals {
  # Sortable and unique per bake; AMI names allow letters, digits and ( ) [ ] . / - ' @ _ only.
  stamp      = formatdate("YYYYMMDDhhmmss", timestamp())
  ami_name   = "bakery-${var.image_name}-${local.stamp}"
  parent_ami = var.parent_ami != "" ? var.parent_ami : var.source_ami

  # CONTRACT §10: the bot finds a bake's AMIs by these tags when the bake result is lost.
  bakery_tags = {
    "bakery:image"              = var.image_name
    "bakery:request-id"         = var.request_id
    "bakery:commit"             = var.commit_id
    "bakery:parent-ami"         = local.parent_ami
    "bakery:requested-by"       = var.requested_by
    "bakery:pipeline-execution" = var.pipeline_execution_id
    "bakery:inputs"             = var.inputs
  }
  # CONTRACT §10: bakery:train only where it applies, on a bake that is a hop of a release train (§12).
  train_tags = { for key, value in { "bakery:train" = var.train } : key => value if value != "" }

  # What this build makes only for itself (instance, volumes, key pair, security group: Packer's run_tags reach
  # all four in plugin v1.3.2) carries bakery:build, the marker the bot's leak sweep removes after a killed build.
  build_tags = merge(local.bakery_tags, {
    "bakery:build" = var.pipeline_execution_id != "" ? var.pipeline_execution_id : "local-${local.stamp}"
  })
}

source "amazon-ebs" "base" {
  region        = var.region
  ami_regions   = var.ami_regions
  source_ami    = var.source_ami
  instance_type = var.instance_type

  ami_name        = local.ami_name
  ami_description = "ami-bakery ${var.image_name} (request ${var.request_id}) on ${local.parent_ami}"

  # No inbound path at all: Packer reaches the instance through an SSM tunnel, so the security group needs no
  # ingress rule. The build subnet is private, except in the bakery's low-cost network (NetworkMode public),
  # whose projects set associate_public_ip_address: there a public address is the only way out (no NAT).
  communicator                = "ssh"
  ssh_username                = "ec2-user"
  ssh_interface               = "session_manager"
  iam_instance_profile        = var.iam_instance_profile
  associate_public_ip_address = var.associate_public_ip_address
  vpc_id                      = var.vpc_id
  subnet_id                   = var.subnet_id
  security_group_id           = var.security_group_id

  # IMDSv2 only: on the build instance now, and recorded on the AMI so every instance launched from it
  # refuses IMDSv1 by default.
  imds_support = "v2.0"
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # Encrypted at rest: the build volume, and the AMI's snapshots (and their copies in ami_regions).
  encrypt_boot = true
  kms_key_id   = var.kms_key_id
  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = var.root_volume_size
    volume_type           = "gp3"
    iops                  = 3000 # gp3's baseline, stated: Packer 1.6 refuses gp3 without them
    throughput            = 125
    encrypted             = true
    kms_key_id            = var.kms_key_id
    delete_on_termination = true
  }

  tags            = merge(local.bakery_tags, local.train_tags, { Name = local.ami_name })
  snapshot_tags   = merge(local.bakery_tags, local.train_tags)
  run_tags        = merge(local.build_tags, { Name = "packer-${var.image_name}-${var.request_id}" })
  run_volume_tags = local.build_tags
}

build {
  name    = "base"
  sources = ["source.amazon-ebs.base"]

  # The scripts run as root. No reboot after the updates: a new kernel is the default boot entry of instances
  # launched from the AMI, and a reboot breaks the Session Manager tunnel (hashicorp/packer-plugin-amazon#289).
  provisioner "shell" {
    execute_command = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    scripts = [
      "${path.root}/scripts/update.sh",
      "${path.root}/scripts/harden.sh",
      "${path.root}/scripts/cleanup.sh",
    ]
  }

  # The AMI's package list, next to packer-manifest.json: the Bake buildspec stores it in the artifact bucket and
  # the bake result names it, so what an AMI holds, and what changed between two, stays answerable. Taken after
  # the cleanup, from the instance the AMI is made of; the copy on the instance goes before the snapshot. One
  # script for every image, from the build image (packer/scripts/package_list.sh).
  provisioner "shell" {
    script = "${var.bakery_tools}/package_list.sh"
  }

  provisioner "file" {
    direction   = "download"
    source      = "/tmp/bakery-packages.txt"
    destination = "packages.txt"
  }

  provisioner "shell" {
    inline = ["rm -f /tmp/bakery-packages.txt"]
  }

  # The build reads this to report the AMIs (CONTRACT §8.3); custom_data ties each entry to its request.
  post-processor "manifest" {
    output     = "packer-manifest.json"
    strip_path = true
    custom_data = {
      image      = var.image_name
      request_id = var.request_id
      commit_id  = var.commit_id
      source_ami = var.source_ami
    }
  }
}
