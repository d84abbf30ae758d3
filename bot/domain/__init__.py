"""The domain's vocabulary: records, states, errors, ids and ports; it imports nothing else of the bot."""
