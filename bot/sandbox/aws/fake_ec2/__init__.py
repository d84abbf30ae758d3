"""EC2 for the sandbox and the tests: what moto lacks served here, every other action relayed unchanged to moto.

moto has no EnableImageDeprecation, no DescribeImageReferences, and keeps the snapshots after
DeregisterImage(DeleteAssociatedSnapshots=True), so one AWS_ENDPOINT_URL_EC2 pointing here serves them as AWS
does, as fake_autoscaling does for instance refreshes. Each caller acts in its own account (its `x-moto-account-id`
header or the account moto gave its keys, as moto decides) and region (its signature's scope); whatever the
stand-in reads from moto it reads there. server: the actions and the switches; images: deprecation and
deregistration; references: DescribeImageReferences; handler: the HTTP side and the relay; protocol: EC2's XML.

What was checked (API reference, User Guide, botocore's service model):
- EnableImageDeprecation rounds DeprecateAt to the nearest minute, refuses a time in the past and one more than
  10 years away ("You can't specify a date in the past"; error code not documented: InvalidParameterValue here).
- DescribeImages shows `deprecationTime` on each image that has one. A deprecated AMI (its time passed) is left
  out for AMI users unless the request names it (ImageId.N) or sets IncludeDeprecated; its owner always sees it
  ("AMI owners continue to see deprecated AMIs in DescribeImages API calls").
- DeregisterImage with DeleteAssociatedSnapshots answers `deleteSnapshotResultSet` items {snapshotId,
  returnCode: success | skipped | missing-permissions | internal-error | client-error}.
- DescribeImageReferences: ImageId.N (1 to 10), IncludeAllResourceTypes and/or ResourceType.N (one of them
  required), MaxResults (at least 5), NextToken. ec2:Instance with `state-name` (default: all six states,
  terminated included), ec2:LaunchTemplate with `version-depth` (1 to 10,000, default the 10 newest versions),
  ssm:Parameter; answers ImageReferences {imageId, resourceType, arn}, the template's ARN without a version.
- An action a region lacks: EC2 answers InvalidAction, "The action X is not valid for this web service."
  (`references_supported = False`); an option it lacks: UnknownParameter (`delete_snapshots_supported = False`).

Not modelled: which SSM parameters AWS reads is not documented; this reads String parameters of data type
aws:ec2:image (`ssm_data_types`; None reads every String parameter), never resolves `resolve:ssm:` image ids in
launch templates, and has no Image Builder recipes. A snapshot shared by several AMIs (moto gives each AMI its
own), the Recycle Bin, public AMIs' 2-year deprecation limit, DescribeImages' own paging (moto's), the upper
limits of AWS's request rates, and IAM (no permission is checked) are left out. Deprecations live in memory.
"""

from bot.sandbox.aws.fake_ec2.protocol import Ec2Error
from bot.sandbox.aws.fake_ec2.server import FakeEc2

__all__ = ["Ec2Error", "FakeEc2"]
