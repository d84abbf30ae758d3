# Plugin requirements, alone in this file: Packer 1.10+ ships no plugins, so `packer init` needs this block,
# while Packer 1.6 (Debian's, used for local checks) rejects it; keeping it apart lets the rest validate on both.
packer {
  required_version = ">= 1.10.0"
  required_plugins {
    amazon = {
      # A current line with `imds_support` and `metadata_options`; the build image pre-installs 1.3.2,
      # which satisfies this, so `packer init` in CodeBuild needs no download.
      source  = "github.com/hashicorp/amazon"
      version = "~> 1.3"
    }
  }
}
