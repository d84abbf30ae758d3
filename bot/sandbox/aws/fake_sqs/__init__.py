"""A fast in-memory SQS endpoint speaking SQS's JSON 1.0 wire protocol, for benchmarks and the offline sandbox.

moto's SQS scans the whole queue on each receive and delete (~7 msg/s draining 2,000), too slow for the intake
benchmark. botocore 1.44 sends SQS only as JSON 1.0 (`POST /`, `X-Amz-Target: AmazonSQS.<Operation>`), so the
query protocol is not served. Receive and delete cost O(batch): visible messages are a deque, in-flight ones a
heap of expiries whose stale entries are skipped lazily, receipt handles a dict. Not modelled: FIFO queues,
delays, message attributes, retention; asking for them is an error rather than silently ignored.

fields: request checks; queue: one queue; queues and messages: the operations; server: serving them.
"""

from bot.sandbox.aws.fake_sqs.fields import SqsError
from bot.sandbox.aws.fake_sqs.server import FakeSqs

__all__ = ["FakeSqs", "SqsError"]
