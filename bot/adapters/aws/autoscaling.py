"""Rolling redeploys of an Auto Scaling group: launch template versions and instance refreshes, errors as FleetError."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from bot.adapters.aws.aws_call import aws_call
from bot.adapters.aws.fleet_runs import runs_of
from bot.domain.errors import FleetError, IrreversibleRefresh, NoActiveRefresh, RefreshInProgress
from bot.domain.fleet_types import GroupRuns
from bot.domain.ports import LaunchTemplateRef, RefreshStatus

# Auto Scaling error codes with a domain meaning of their own; every other ClientError is a plain FleetError.
_SPECIFIC_ERRORS: dict[str, type[FleetError]] = {
    "InstanceRefreshInProgress": RefreshInProgress,
    "ActiveInstanceRefreshNotFound": NoActiveRefresh,
    "IrreversibleInstanceRefresh": IrreversibleRefresh,
}

class Fleet:
    """Auto Scaling groups and their launch templates in one region, through boto3 `ec2` and `autoscaling` clients."""

    def __init__(self, ec2_client: Any, autoscaling_client: Any):
        self._ec2 = ec2_client
        self._autoscaling = autoscaling_client
        self.region: str = autoscaling_client.meta.region_name

    def launch_template_of(self, group: str) -> LaunchTemplateRef:
        """The launch template group launches from; FleetError when the group has none (or does not exist)."""
        answer = _call(
            f"describe Auto Scaling group {group}",
            self._autoscaling.describe_auto_scaling_groups,
            AutoScalingGroupNames=[group],
        )
        groups = answer.get("AutoScalingGroups", [])
        if not groups:
            raise FleetError(f"Could not find Auto Scaling group {group} in {self.region}.")
        spec = _launch_template_spec(groups[0])
        if spec is None:
            raise FleetError(
                f"Auto Scaling group {group} does not launch from a launch template "
                "(a launch configuration cannot be given a new AMI version)."
            )
        if spec.get("LaunchTemplateId"):
            params: dict[str, Any] = {"LaunchTemplateIds": [spec["LaunchTemplateId"]]}
        else:
            params = {"LaunchTemplateNames": [spec["LaunchTemplateName"]]}
        templates = _call(
            f"describe the launch template of Auto Scaling group {group}", self._ec2.describe_launch_templates, **params
        ).get("LaunchTemplates", [])
        if not templates:
            raise FleetError(f"The launch template of Auto Scaling group {group} no longer exists.")
        template = templates[0]
        return LaunchTemplateRef(
            id=template["LaunchTemplateId"],
            name=template.get("LaunchTemplateName", ""),
            default_version=int(template["DefaultVersionNumber"]),
            latest_version=int(template["LatestVersionNumber"]),
        )

    def new_version_with_image(self, *, template_id: str, ami_id: str, source_version: int, description: str) -> int:
        """A new launch template version: source_version with only the AMI changed; returns its number."""
        answer = _call(
            f"create a version of launch template {template_id} with {ami_id}",
            self._ec2.create_launch_template_version,
            LaunchTemplateId=template_id,
            SourceVersion=str(source_version),
            VersionDescription=description,
            LaunchTemplateData={"ImageId": ami_id},
        )
        return int(answer["LaunchTemplateVersion"]["VersionNumber"])

    def version_described(self, *, template_id: str, latest: int, description: str) -> int | None:
        """The newest of the template's last 50 versions (up to `latest`) whose description is exactly this."""
        answer = _call(
            f"describe the versions of launch template {template_id}",
            self._ec2.describe_launch_template_versions,
            LaunchTemplateId=template_id,
            MinVersion=str(max(1, latest - 49)),
            MaxResults=50,
        )
        found = [
            int(v["VersionNumber"])
            for v in answer.get("LaunchTemplateVersions", [])
            if v.get("VersionDescription") == description
        ]
        return max(found) if found else None

    def set_default_version(self, *, template_id: str, version: int) -> None:
        _call(
            f"make version {version} the default of launch template {template_id}",
            self._ec2.modify_launch_template,
            LaunchTemplateId=template_id,
            DefaultVersion=str(version),
        )

    def start_refresh(
        self,
        *,
        group: str,
        template_id: str,
        version: int,
        min_healthy_percentage: int,
        instance_warmup: int,
        max_healthy_percentage: int | None = None,
        checkpoint_percentages: list[int] | None = None,
    ) -> str:
        """Start a rolling replacement of group's instances with template version `version`; returns the refresh id.

        Raises RefreshInProgress when the group already has an active refresh.
        """
        # Every preference whose default differs between the CLI and the console is set explicitly, and the
        # version is a number: with $Latest/$Default a refresh cannot be rolled back.
        preferences: dict[str, Any] = {
            "MinHealthyPercentage": min_healthy_percentage,
            "InstanceWarmup": instance_warmup,
            "SkipMatching": True,
            "AutoRollback": True,
            "ScaleInProtectedInstances": "Wait",
            "StandbyInstances": "Wait",
        }
        if max_healthy_percentage is not None:
            preferences["MaxHealthyPercentage"] = max_healthy_percentage
        if checkpoint_percentages:
            preferences["CheckpointPercentages"] = list(checkpoint_percentages)
        answer = _call(
            f"start an instance refresh of Auto Scaling group {group}",
            self._autoscaling.start_instance_refresh,
            AutoScalingGroupName=group,
            Strategy="Rolling",
            DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template_id, "Version": str(version)}},
            Preferences=preferences,
        )
        return str(answer["InstanceRefreshId"])

    def refresh_of(self, *, group: str, template_id: str, version: int) -> str | None:
        """The id of the group's newest instance refresh onto that launch template version, whatever its status.

        A rollout's launch template version is its own (created for it), so any refresh onto it is the
        rollout's: one a dead replica started and that has finished since is adopted too, never started again.
        """
        answer = _call(
            f"describe the instance refreshes of Auto Scaling group {group}",
            self._autoscaling.describe_instance_refreshes,
            AutoScalingGroupName=group,
        )
        ours = [
            refresh
            for refresh in answer.get("InstanceRefreshes", [])
            if ((refresh.get("DesiredConfiguration") or {}).get("LaunchTemplate") or {}).get("LaunchTemplateId")
            == template_id
            and str(((refresh.get("DesiredConfiguration") or {}).get("LaunchTemplate") or {}).get("Version"))
            == str(version)
        ]
        if not ours:
            return None
        newest = max(ours, key=lambda refresh: str(refresh.get("StartTime") or ""))
        return str(newest["InstanceRefreshId"])

    def describe_refresh(self, *, group: str, refresh_id: str) -> RefreshStatus:
        answer = _call(
            f"describe instance refresh {refresh_id} of Auto Scaling group {group}",
            self._autoscaling.describe_instance_refreshes,
            AutoScalingGroupName=group,
            InstanceRefreshIds=[refresh_id],
        )
        refreshes = answer.get("InstanceRefreshes", [])
        if not refreshes:
            raise FleetError(f"Auto Scaling group {group} has no instance refresh {refresh_id}.")
        refresh = refreshes[0]
        return RefreshStatus(
            status=refresh.get("Status", ""),
            percentage=int(refresh.get("PercentageComplete", 0)),
            instances_to_update=int(refresh.get("InstancesToUpdate", 0)),
            status_reason=refresh.get("StatusReason", ""),
            start_time=refresh.get("StartTime"),
            end_time=refresh.get("EndTime"),
        )

    def cancel_refresh(self, group: str) -> str:
        """Stop the group's active refresh; instances already replaced stay replaced. Returns the refresh id.

        Raises NoActiveRefresh when there is nothing to cancel.
        """
        answer = _call(
            f"cancel the instance refresh of Auto Scaling group {group}",
            self._autoscaling.cancel_instance_refresh,
            AutoScalingGroupName=group,
        )
        return str(answer["InstanceRefreshId"])

    def rollback_refresh(self, group: str) -> str:
        """Stop the group's active refresh and replace the new instances with the previous configuration.

        Raises NoActiveRefresh or IrreversibleRefresh. Returns the refresh id.
        """
        answer = _call(
            f"roll back the instance refresh of Auto Scaling group {group}",
            self._autoscaling.rollback_instance_refresh,
            AutoScalingGroupName=group,
        )
        return str(answer["InstanceRefreshId"])

    def runs_of(self, groups: Sequence[str]) -> dict[str, GroupRuns]:
        """What each group runs (§14): see bot.adapters.aws.fleet_runs."""
        return runs_of(self._ec2, self._autoscaling, groups)


def _launch_template_spec(group: dict[str, Any]) -> dict[str, Any] | None:
    if group.get("LaunchTemplate"):
        return cast(dict[str, Any], group["LaunchTemplate"])
    mixed = group.get("MixedInstancesPolicy") or {}
    return (mixed.get("LaunchTemplate") or {}).get("LaunchTemplateSpecification") or None


def _call(doing: str, operation: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
    return aws_call(doing, operation, errors=_SPECIFIC_ERRORS, default=FleetError, service="AWS", **params)
