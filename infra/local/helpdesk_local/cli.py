"""The `helpdesk` command: demo, local, scenario, validate, bench, report, redrive."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpdesk_local.stack import REPO_ROOT


def _validate(args: argparse.Namespace) -> int:
    from helpdesk.config import ConfigError, load_config
    from helpdesk_local.checks import summary, template_problems

    path = Path(args.config) if args.config else REPO_ROOT / "infra" / "helpdesk.yaml"
    failed = False
    try:
        config = load_config(path)
    except ConfigError as error:
        for config_problem in error.problems:
            print(config_problem, file=sys.stderr)
        failed = True
    for template_problem in template_problems(REPO_ROOT):
        print(f"template.yaml: {template_problem}", file=sys.stderr)
        failed = True
    if failed:
        return 1
    print(f"OK {path}: {summary(config)}; template.yaml agrees with the code")
    return 0


def _scenario(args: argparse.Namespace) -> int:
    from helpdesk_local.scenario import ScenarioError, dumps, run_scenario

    try:
        state = run_scenario(Path(args.file))
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(dumps(state))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from helpdesk_local.demo import run_demo

    return run_demo(fast=args.fast)


def _local(args: argparse.Namespace) -> int:
    from helpdesk_local.server import run_local

    return run_local(
        port=args.port,
        smtp_port=args.smtp_port,
        speed=args.speed,
        config_path=Path(args.config) if args.config else None,
    )


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="helpdesk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="play the bundled demo day, narrated")
    demo.add_argument("--fast", action="store_true", help="no pauses between steps")
    demo.set_defaults(run=_demo)

    local = commands.add_parser(
        "local", help="serve the local stack on 127.0.0.1: HTTP routes, SMTP, a running clock"
    )
    local.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
    local.add_argument("--smtp-port", type=int, default=2525, help="SMTP port (default 2525)")
    local.add_argument(
        "--speed",
        type=_non_negative,
        default=1.0,
        help="stack seconds per wall-clock second (default 1; 0 stops the clock)",
    )
    local.add_argument("--config", help="ops config file (default infra/helpdesk.yaml)")
    local.set_defaults(run=_local)

    scenario = commands.add_parser("scenario", help="play a scenario file, print the state JSON")
    scenario.add_argument("file")
    scenario.set_defaults(run=_scenario)

    validate = commands.add_parser("validate", help="check the config file and the template")
    validate.add_argument("config", nargs="?")
    validate.set_defaults(run=_validate)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
