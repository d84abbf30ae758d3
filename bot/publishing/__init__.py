"""The one place that writes records to Slack: the coalescing publisher."""
