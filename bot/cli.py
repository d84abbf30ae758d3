"""The `bakery` command: serve, socket, sandbox, check and gc (CONTRACT §2)."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from bot.config import DEFAULT_CONFIG_PATH, Config, Environment, config_path, load_config
from bot.domain.counts import count
from bot.domain.errors import BakeryError, ConfigError
from bot.logs import LOG_FORMATS
from bot.logs import configure as configure_logging
from bot.stopping import stop_gracefully, stop_on_signal, stop_timeout

log = logging.getLogger("bakery")

# moto and the rest of what only the sandbox runs are an extra: a production install does not carry them.
SANDBOX_EXTRA = "pip install 'ami-bakery[sandbox]'"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bakery", description="Bake and roll out machine images from Slack.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", metavar="F", help="configuration file (default: $BAKERY_CONFIG, else ./bakery.yaml)")
        p.add_argument(
            "--log-level",
            choices=["DEBUG", "INFO", "WARNING", "ERROR"],
            help="log at this level (default INFO; the sandbox's default is one line per bake, approval or rollout)",
        )
        p.add_argument(
            "--log-format",
            choices=LOG_FORMATS,
            default="text",
            help="text (default) or json: one JSON object per line with the event, its fields and the bound ids",
        )
        return p

    serve = add("serve", "HTTP mode: Slack requests, SNS, /healthz and /metrics; consumes the SQS queue if configured")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=3000, help="port to listen on (default 3000)")
    serve.add_argument("--threads", type=_thread_count, default=16, help="HTTP worker threads (default 16)")
    socket_mode = add("socket", "Slack Socket Mode (no inbound port) plus the SQS consumer")
    socket_mode.add_argument(
        "--metrics-port", type=_port, help="serve GET /metrics on 127.0.0.1 at this port (default: none)"
    )
    sandbox = add("sandbox", "the whole bakery on this machine, offline")
    sandbox.add_argument("--port", type=_port, default=8080, help="port of the Slack stand-in page (default 8080)")
    check = add("check", "validate the configuration; with --aws, also that the named AWS resources exist")
    check.add_argument("--aws", action="store_true", help="also check the AWS resources the configuration names")
    gc = add("gc", "the AMI lifecycle sweep, now: deregister what the lifecycle no longer keeps and nothing uses")
    gc.add_argument("--dry-run", action="store_true", help="only say what the sweep would remove; change nothing")
    return parser


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 65535")
    return value


def _thread_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    # waitress accepts 0 threads, then queues every request forever: the server would listen and never answer.
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too few (at least 1)")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level, quiet_default=args.command == "sandbox", log_format=args.log_format)
    path = config_path(args.config)
    if args.command == "sandbox":
        try:
            # The one import of the sandbox from outside it (import-linter's declared exception), kept plain.
            from bot.sandbox.run import run_sandbox
        except ModuleNotFoundError as exc:
            if _is_ours(exc.name):  # our own module missing is a bug, not an install without the extra
                raise
            print(f"error: bakery sandbox needs {exc.name}, from the sandbox extra: {SANDBOX_EXTRA}", file=sys.stderr)
            return 2
        return run_sandbox(port=args.port, config=args.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in _config_problems(exc, path):
            print(f"error: {problem}", file=sys.stderr)
        return 2
    env = Environment.from_environ()
    if args.command == "check":
        return _check(config, env, aws=args.aws)
    if args.command == "gc":
        return _gc(config, env, dry_run=args.dry_run)
    problems = env.problems_for(args.command)
    try:
        budget = stop_timeout(os.environ)
    except ConfigError as exc:
        problems = [*problems, *exc.problems]
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        if args.command == "serve":
            return _serve(config, env, host=args.host, port=args.port, threads=args.threads, budget=budget)
        return _socket(config, env, budget=budget, metrics_port=args.metrics_port)
    except BakeryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _is_ours(module: str | None) -> bool:
    return module is None or module.partition(".")[0] in ("bot", "handlers")


def _config_problems(exc: ConfigError, path: str) -> list[str]:
    """The configuration's problems; when the default file is missing, how to make one from the example."""
    if path == DEFAULT_CONFIG_PATH and not os.path.exists(path):
        return [f"{path}: no such file; start from the example: cp bakery.example.yaml {path} (or pass --config F)"]
    return exc.problems


def _check(config: Config, env: Environment, *, aws: bool) -> int:
    print(f"{config.source}: ok ({count(len(config.images), 'image')}, {count(len(config.targets), 'target')})")
    if not aws:
        return 0
    from bot.adapters.aws.preflight import check_aws

    problems = check_aws(config, env)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _gc(config: Config, env: Environment, *, dry_run: bool) -> int:
    """`bakery gc [--dry-run]`: the sweep on demand, under the same per-image locks as the bot's (no daily claim);
    its report on stdout; exit 1 when AWS refused a deregistration or a deprecation."""
    from bot.wiring.gc_cli import run_gc

    try:
        text, failed = run_gc(config, env, dry_run=dry_run)
    except ConfigError as exc:  # what the sweep needs and the configuration or environment lacks: before any call
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except BakeryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(text)
    return 1 if failed else 0


def _build_app(bot: Any, *, socket_mode: bool) -> Any:
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from bot.app import build_app

    # Bolt checks the bot token (auth.test) while the app is built; when Slack cannot be reached, the SDK's
    # retry handler logs every attempt before the one line below says so. At DEBUG they are kept.
    quiet = _SlackSdkRetries() if logging.getLogger().getEffectiveLevel() > logging.DEBUG else None
    sdk_log = logging.getLogger("slack_sdk.web.base_client")
    if quiet:
        sdk_log.addFilter(quiet)
    try:
        return build_app(bot, socket_mode=socket_mode)
    except BoltError as exc:
        # Bolt checks the bot token (auth.test) while the app is built; a refusal is a setup problem to
        # report in one line naming the variable, not a traceback through Bolt's constructor.
        refusal = exc.__context__
        if not isinstance(refusal, SlackApiError):
            raise
        raise BakeryError(f"SLACK_BOT_TOKEN: Slack refused it ({refusal.response.get('error')})") from None
    except OSError as exc:
        raise BakeryError(f"SLACK_API_URL: cannot reach Slack at {bot.env.slack_api_url} ({exc})") from None
    finally:
        if quiet:
            sdk_log.removeFilter(quiet)


class _SlackSdkRetries(logging.Filter):
    """Drops the SDK's per-attempt lines ("Failed to send a request…", "Going to retry…") while the app is built."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _serve(config: Config, env: Environment, *, host: str, port: int, threads: int, budget: float) -> int:
    from bot.server import BakeryWsgi, HttpServer
    from bot.wiring import build_bot

    bot = build_bot(config, env)
    app = _build_app(bot, socket_mode=False)
    wsgi = BakeryWsgi(app, bot)
    try:
        server = HttpServer(wsgi, host=host, port=port, threads=threads)
    except OSError as exc:  # a port in use, or a host that is not this machine's
        raise BakeryError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    stop = stop_on_signal()
    bot.start()
    server.start()
    # Everything built so far lives as long as the process: keep it out of the cyclic collector's scans,
    # which would otherwise pause request handling now and then.
    gc.freeze()
    log.info("serve.listening url=%s sqs=%s", server.url, "on" if bot.sqs else "off")
    routes = "POST /slack/events, POST /sns, GET /healthz, GET /metrics"
    print(f"ami-bakery listening on {server.url} ({routes})", flush=True)
    try:
        stop.wait()
    finally:
        stop_gracefully(bot, budget, drain=wsgi.drain, close=server.stop)
    return 0


def _socket(config: Config, env: Environment, *, budget: float, metrics_port: int | None = None) -> int:
    from bot.app import TimedSocketModeHandler
    from bot.wiring import build_bot

    bot = build_bot(config, env)
    app = _build_app(bot, socket_mode=True)
    handler = TimedSocketModeHandler(app, env.slack_app_token, metrics=bot.metrics)
    metrics = _metrics_server(bot, metrics_port) if metrics_port is not None else None
    stop = stop_on_signal()
    bot.start()
    try:
        _connect(handler)
        # The client swallows websocket failures and retries on its own; say which case this is.
        log.info(
            "socket.started connected=%s sqs=%s",
            "yes" if handler.client.is_connected() else "no (retrying)",
            "on" if bot.sqs else "off",
        )
        stop.wait()
    finally:
        # No new events from the moment the socket closes: Slack delivers them to another connection.
        stop_gracefully(bot, budget, close=handler.close)
        if metrics is not None:
            metrics.shutdown()
    return 0


def _metrics_server(bot: Any, port: int) -> Any:
    """`GET /metrics` for Socket Mode, which has no inbound port: prometheus_client's server, loopback only."""
    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(port, addr="127.0.0.1", registry=bot.metrics.registry)
    except OSError as exc:
        raise BakeryError(f"cannot serve metrics on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    log.info("socket.metrics url=http://127.0.0.1:%s/metrics", server.server_port)
    return server


def _connect(handler: Any) -> None:
    from slack_sdk.errors import SlackApiError

    try:
        handler.connect()
    except SlackApiError as exc:  # apps.connections.open refused the app token
        raise BakeryError(f"SLACK_APP_TOKEN: Slack refused it ({exc.response.get('error')})") from None


if __name__ == "__main__":  # pragma: no cover
    # As the console script exits: os._exit would drop output still buffered for a pipe.
    sys.exit(main())
