"""Wiring: builds every service and adapter from the configuration and the environment, once, in order.

Nothing here runs anything; `bot.runtime.runner.Runtime` runs the loops. Each object is built after
everything it needs, so no object is patched after construction. The parts, by responsibility:
`adapters` (the boto3 clients and the adapters made from them), `publishers` (the messages and what
redraws what), `trains` (the release train's services), and `build` (`build_bot`, in order, and the edges).
"""

from bot.wiring.adapters import LinkedRepo
from bot.wiring.bot import Bot
from bot.wiring.build import Options, build_bot

__all__ = ["Bot", "LinkedRepo", "Options", "build_bot"]
