"""Events API listeners: messages in the bot's channels."""
