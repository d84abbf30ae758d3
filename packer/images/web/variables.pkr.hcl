# Inputs of the web image. Three kinds, and who sets them:
# - the request's own keys (/bake base instance_type=...): only what bakery.yaml declares for the image;
# - the bake's identity (request_id, commit_id, ...): written by the build from bake-request.json and CodeBuild;
# - the platform (network, instance profile, KMS key): PKR_VAR_* environment variables of the CodeBuild project.
# The build refuses request keys outside the first kind (packer/scripts/bakery_build.py).

# --- set by /bake -----------------------------------------------------------------------------------------

variable "instance_type" {
  type        = string
  default     = "t3.micro"
  description = "Instance type of the temporary build instance."
}

variable "app_version" {
  type        = string
  default     = "1.0.0"
  description = "Version of the application, shown on the health page."

  # The value reaches a shell script on the build instance: allow a version's characters only. (No regex():
  # Packer 1.6, used for local checks, lacks it; regex_replace works on every version.)
  validation {
    condition     = length(var.app_version) > 0 && length(var.app_version) <= 64 && regex_replace(var.app_version, "[0-9A-Za-z._+-]", "") == ""
    error_message = "The app_version must be 1 to 64 letters, digits, dots, underscores, plus or minus signs."
  }
}

# --- the bake's identity, written by the build --------------------------------------------------------------

variable "image_name" {
  type        = string
  default     = "web"
  description = "The image's name in bakery.yaml; tag bakery:image."
}

variable "source_ami" {
  type        = string
  description = "AMI to build on: the request's source_ami (the base image's latest), else /bakery/images/base/latest."
}

variable "parent_ami" {
  type        = string
  default     = ""
  description = "Tag bakery:parent-ami; empty means source_ami."
}

variable "request_id" {
  type        = string
  default     = "manual"
  description = "The bake request (b-... from /bake, h-... for a commit pushed by hand); tag bakery:request-id."
}

variable "requested_by" {
  type        = string
  default     = ""
  description = "Slack user id of who asked; tag bakery:requested-by."
}

variable "commit_id" {
  type        = string
  default     = ""
  description = "Source commit of this bake; tag bakery:commit."
}

variable "pipeline_execution_id" {
  type        = string
  default     = ""
  description = "CodePipeline execution id; tag bakery:pipeline-execution."
}

variable "inputs" {
  type        = string
  default     = ""
  description = "The bake's inputs fingerprint from bake-request.json (CONTRACT §12); tag bakery:inputs."
}

variable "train" {
  type        = string
  default     = ""
  description = "The release train this bake is a hop of, from bake-request.json (CONTRACT §12); tag bakery:train."
}

# --- the platform, from the CodeBuild project's PKR_VAR_* environment -----------------------------------

variable "region" {
  type        = string
  description = "Region to build in (the build writes it from AWS_REGION)."
}

variable "ami_regions" {
  type        = list(string)
  default     = []
  description = "Further regions to copy the AMI to."
}

variable "vpc_id" {
  type        = string
  default     = ""
  description = "VPC of the build subnet; empty lets Packer take it from subnet_id."
}

variable "subnet_id" {
  type        = string
  description = "Subnet for the build instance: private, reaching SSM through endpoints or NAT; public in NetworkMode public."
}

variable "associate_public_ip_address" {
  type        = bool
  default     = false
  description = "A public IPv4 address for the build instance: true only in the bakery's NetworkMode public (no NAT gateway)."
}

variable "security_group_id" {
  type        = string
  description = "Security group for the build instance; Session Manager needs egress 443 only, no ingress."
}

variable "iam_instance_profile" {
  type        = string
  description = "Instance profile of the build instance; needs AmazonSSMManagedInstanceCore for Session Manager."
}

variable "kms_key_id" {
  type        = string
  description = "ARN of the bakery's AMI key (ami-key.yaml) for the build volume and the AMI's snapshots; never aws/ebs, whose AMIs cannot be shared."
  validation {
    condition     = length(var.kms_key_id) > 0 && regex_replace(var.kms_key_id, "^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[0-9a-f-]+|alias/[A-Za-z0-9/_-]+)$", "") == "" && regex_replace(var.kms_key_id, ":alias/aws/", "") == var.kms_key_id
    error_message = "The kms_key_id must be the ARN of a customer-managed KMS key (ami-key.yaml's AmiKeyArn), not aws/ebs."
  }
}

variable "bakery_tools" {
  type        = string
  default     = "/opt/bakery"
  description = "Where the build image keeps the scripts every image shares (packer/scripts), e.g. package_list.sh."
}

variable "root_volume_size" {
  type        = number
  default     = 10
  description = "Root volume size in GiB."
}
