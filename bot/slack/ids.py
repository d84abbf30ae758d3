"""Slack action and view ids (CONTRACT §6): the one place their spelling lives."""

from __future__ import annotations

BAKE_APPROVE = "bake_approve"
BAKE_REJECT = "bake_reject"
ROLLOUT_START = "rollout_start"
ROLLOUT_APPROVE = "rollout_approve"
ROLLOUT_CANCEL = "rollout_cancel"
ROLLOUT_ROLLBACK = "rollout_rollback"
BAKE_CHILDREN = "bake_children"  # Rebake <child> on a released parent (CONTRACT §12)
GC_CONFIRM = "gc_confirm"  # run the lifecycle sweep /bake gc showed (CONTRACT §14)

REJECT_VIEW = "bake_reject_reason"  # callback_id of the modal asking why
REJECT_REASON_BLOCK = "reason"
REJECT_REASON_INPUT = "reason_input"
