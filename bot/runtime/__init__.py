"""Running the bot: the background loops, the bake workers, graceful shutdown and health."""
