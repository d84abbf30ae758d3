"""Pipeline notifications in: parse once at the edge (SNS, SQS, EventBridge, CodeStar shape), de-duplicate."""
