"""Auto Scaling for the sandbox: instance refreshes served here, every other action proxied unchanged to moto.

moto has groups and launch templates but no instance refreshes, so one AWS_ENDPOINT_URL_AUTOSCALING pointing here
serves both. refreshes: the refresh timeline, computed from an injectable clock on each read; a successful refresh
also moves the group onto the desired launch template version and replaces its instances with ones launched from
it, as AWS does. `fail_next_refresh(reason)` makes the next refresh fail halfway. server: the four refresh actions
and moto; handler: the Query protocol and the proxy. Not modelled: checkpoints, bake time, alarms, warm pools,
instances replaced one by one (moto's stay as they are until the refresh succeeds, then all are replaced at once).
"""

from bot.sandbox.aws.fake_autoscaling.server import AutoScalingError, FakeAutoScaling

__all__ = ["AutoScalingError", "FakeAutoScaling"]
