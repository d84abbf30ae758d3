"""The sandbox's local pipeline: every commit through the six stages, like a V2 QUEUED pipeline."""
