"""The `helpdesk` command: demo, local, scenario, report, bench, validate, kb, redrive,
backfill-backlog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from helpdesk_local.stack import REPO_ROOT

if TYPE_CHECKING:
    from helpdesk.config import Config

DEFAULT_CONFIG = REPO_ROOT / "infra" / "helpdesk.yaml"


def _validate(args: argparse.Namespace) -> int:
    from helpdesk.config import ConfigError, load_config
    from helpdesk_local.checks import (
        config_notes,
        deployment_problems,
        staffing_problems,
        summary,
        template_problems,
    )
    from helpdesk_local.knowledge_checks import knowledge_problems, knowledge_summary
    from helpdesk_local.languages import language_problems

    path = Path(args.config) if args.config else DEFAULT_CONFIG
    failed = False
    try:
        config = load_config(path)
    except ConfigError as error:
        for config_problem in error.problems:
            print(config_problem, file=sys.stderr)
        failed = True
    else:
        # Each configured language needs its folder of templates, complete (docs/LANGUAGES.md).
        for language_problem in language_problems(path, config.helpdesk.languages):
            print(language_problem, file=sys.stderr)
            failed = True
        # The articles: front matter, saved replies in every language, links (docs/KNOWLEDGE.md).
        for article_problem in knowledge_problems(path, config):
            print(article_problem, file=sys.stderr)
            failed = True
        for staffing_problem in staffing_problems(path, config):
            print(staffing_problem, file=sys.stderr)
            failed = True
    # The code's functions, variables and queues; then what the deployed stack would leave
    # an operator blind to (logs, alarms, dashboard), read from the SAM transform's output.
    for template_problem in [*template_problems(REPO_ROOT), *deployment_problems(REPO_ROOT)]:
        print(f"template.yaml: {template_problem}", file=sys.stderr)
        failed = True
    if failed:
        return 1
    for note in config_notes(path, config):
        print(note, file=sys.stderr)
    print(
        f"OK {path}: {summary(config)}; every language has its templates;"
        f" {knowledge_summary(path, config)}; template.yaml agrees with the code, and every"
        " function has its logs, an errors alarm and its place on the dashboard"
    )
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


def _report(args: argparse.Namespace) -> int:
    """The report of the last N full days, as leads get it by mail (its text part): of a
    scenario played on a fresh local stack, or of a deployed stack's table."""
    from datetime import UTC, datetime

    from helpdesk.aws.ticket_store import DynamoTicketStore
    from helpdesk.config import load_config
    from helpdesk.services.reports import report_text

    if args.scenario:
        from helpdesk_local.scenario import Player, ScenarioError, load_scenario
        from helpdesk_local.stack import LocalStack

        try:
            scenario = load_scenario(Path(args.scenario))
        except ScenarioError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        # --config plays the scenario on that desk instead of the one it names (or the
        # example's).
        config_path = Path(args.config) if args.config else scenario.config
        # Its problems named, and the reader checked, before a stack is built.
        if _gets_no_report(args.lead, load_config(config_path or DEFAULT_CONFIG)):
            return 2
        with LocalStack(config_path=config_path, start=scenario.start) as stack:
            began = stack.clock.peek()
            Player(stack, scenario).play()
            table = stack.resolver.ref("DomainTable") if stack.resolver else ""
            config = load_config(stack.config_path)
            repo = DynamoTicketStore(table, config=config)
            # Without --days: the scenario's own days, the last one as far as it was played.
            text = report_text(
                repo, config, days=args.days, now=stack.clock.peek(), lead=args.lead, since=began
            )
        print(text, end="")
        return 0
    if not args.table:
        print("error: give --scenario FILE, or --table NAME of a deployed stack", file=sys.stderr)
        return 2
    import os

    from botocore.exceptions import BotoCoreError, ClientError

    from helpdesk.aws import clients

    region = _aws_region(args, f"the region the table {args.table} is in")
    if region is None:
        return 2
    # The adapters' shared clients take the region boto3 finds: this one, for this process.
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = region
    clients.reset()
    config = load_config(Path(args.config) if args.config else DEFAULT_CONFIG)
    if _gets_no_report(args.lead, config):
        return 2
    try:
        text = report_text(
            DynamoTicketStore(args.table, config=config),
            config,
            days=1 if args.days is None else args.days,
            now=datetime.now(UTC),
            lead=args.lead,
        )
    except (ClientError, BotoCoreError) as error:
        print(f"error: {error} (table {args.table} in {region})", file=sys.stderr)
        return 2
    print(text, end="")
    return 0


def _gets_no_report(lead: str | None, config: Config) -> bool:
    """Whether ``lead`` is an address the desk mails no report (said in one line, naming
    those it does): an agent who leads nothing, or a typo, would otherwise be shown the
    whole desk's report, as if it were theirs."""
    from helpdesk.notices.reports import readers

    if lead is None:
        return False
    every = [address for address, _ in readers(config)]
    if lead.lower() in every:
        return False
    print(
        f"error: {lead} gets no report: it leads no team and is not in reports.desk_wide_to"
        f" (reports go to {', '.join(every) or 'nobody'})",
        file=sys.stderr,
    )
    return True


def _bench(args: argparse.Namespace) -> int:
    import json

    from helpdesk_local.bench import BenchError, render_table, run_bench, simulate_scale

    try:
        result = simulate_scale() if args.scale else run_bench()
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json or args.scale else render_table(result))
    return 0


def _kb_build(args: argparse.Namespace) -> int:
    """The static help centre of the knowledge base (docs/KNOWLEDGE.md)."""
    from helpdesk_local.helpcentre import build_site

    config = Path(args.config) if args.config else DEFAULT_CONFIG
    site = build_site(config, Path(args.out))
    count = sum(len(pages) - 1 for pages in site.pages.values())
    print(
        f"wrote {site.folder}: {count} article pages in {', '.join(site.pages)}, an index with"
        " search per language; upload the folder to any static host"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from helpdesk.config import load_config
    from helpdesk_local.demo import run_demo

    # Checked before the banner: a broken config had stopped the demo at its first step.
    load_config(DEFAULT_CONFIG)
    return run_demo(fast=args.fast)


def _local(args: argparse.Namespace) -> int:
    from helpdesk.config import load_config
    from helpdesk_local import server

    config_path = Path(args.config) if args.config else None
    # Checked before anything is served: the functions read it only at their first cold
    # start, and a broken one would answer every request 500 behind a cheerful banner.
    load_config(config_path or DEFAULT_CONFIG)
    return server.run_local(
        port=args.port,
        smtp_port=args.smtp_port,
        speed=args.speed,
        config_path=config_path,
        fault_rate=args.faults,
        trust_local_agents=args.trust_local_agents,
    )


def _aws_region(args: argparse.Namespace, where: str | None = None) -> str | None:
    """The region an operator command asks: --region, else the one boto3 finds (AWS_REGION,
    AWS_DEFAULT_REGION, the profile's). None, said in one line with ``where`` (by default
    the stack's region), when there is none."""
    import boto3

    found = args.region or boto3.session.Session().region_name
    region = str(found) if found else None
    if region is None:
        where = where or f"the region the stack {args.stack_name} is deployed in"
        print(
            f"error: no AWS region: give --region REGION or set AWS_REGION ({where})",
            file=sys.stderr,
        )
    return region


def _aws_refusal(error: Exception, stack_name: str, region: str) -> int:
    """One line for what boto3 could not find (credentials, say), could not reach (a
    mistyped region, a proxy, no network: botocore's EndpointConnectionError is a
    BotoCoreError as they are) or AWS refused (a permission, a stack that is not there),
    not a traceback."""
    print(f"error: {error} (stack {stack_name} in {region})", file=sys.stderr)
    return 2


def _redrive(args: argparse.Namespace) -> int:
    """Dead letters of a deployed stack back to their queues (SQS message-move tasks), and
    the failures of its functions run again (docs/DEPLOY.md)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from helpdesk_local.redrive import RedriveError, describe, redrive_aws

    region = _aws_region(args)
    if region is None:
        return 2
    try:
        results = redrive_aws(args.stack_name, args.queue, region=region)
    except RedriveError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        return _aws_refusal(error, args.stack_name, region)
    print("\n".join(describe(results)))
    return 0


def _backfill_backlog(args: argparse.Namespace) -> int:
    """The BacklogIndex key on a deployed desk's open tickets (docs/DEPLOY.md)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from helpdesk_local.backlog_index import backfill_backlog_index, table_of_stack
    from helpdesk_local.redrive import RedriveError

    region = _aws_region(args)
    if region is None:
        return 2
    try:
        table = table_of_stack(args.stack_name, boto3.client("cloudformation", region_name=region))
        done = backfill_backlog_index(boto3.client("dynamodb", region_name=region), table)
    except RedriveError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        return _aws_refusal(error, args.stack_name, region)
    print(
        f"{done.keyed} open tickets keyed ({done.looked_at} tickets without a key looked at),"
        f" {done.listed} tickets listed under their contact,"
        f" {done.zoned} older contacts given no zone"
    )
    return 0


def _fault_rate(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a rate from 0 to below 1")
    return value


# The longest report: ten years (a million days ran past the calendar, a traceback, and on
# a deployed table would read its whole history; review 20, #13).
REPORT_DAYS_MAX = 3660


def _days(text: str) -> int:
    """A report's length: a whole number of days, from one (a period of none or fewer ran
    backwards in the report's header; first-user run 14, #5) to :data:`REPORT_DAYS_MAX`."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= REPORT_DAYS_MAX:
        raise argparse.ArgumentTypeError(
            f"{text} is not a whole number of days from 1 to {REPORT_DAYS_MAX}"
        )
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _deployed_stack_arguments(command: argparse.ArgumentParser) -> None:
    """The flags of the commands that act on a deployed stack."""
    command.add_argument(
        "--stack-name",
        default="helpdesk",
        help="CloudFormation stack name (default: %(default)s)",
    )
    command.add_argument(
        "--region",
        help="the stack's AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's)",
    )


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
    local.add_argument(
        "--faults",
        type=_fault_rate,
        default=0.0,
        metavar="RATE",
        help="throttle or fail this share of the functions' AWS requests (e.g. 0.15)",
    )
    local.add_argument(
        "--trust-local-agents",
        action="store_true",
        help="stamp mail to the SMTP port as SPF, DKIM and DMARC pass for its From domain, so"
        " that a mail from an agent's address acts as that agent (default: stamped as SES"
        " would stamp an unauthenticated client, and an agent's address has no power)",
    )
    local.set_defaults(run=_local)

    scenario = commands.add_parser("scenario", help="play a scenario file, print the state JSON")
    scenario.add_argument(
        "file", help="the scenario (docs/SCENARIOS.md; examples: tests/scenarios/*.yaml)"
    )
    scenario.set_defaults(run=_scenario)

    report = commands.add_parser(
        "report", help="print the report of the last N full days (the daily/weekly mail's figures)"
    )
    report.add_argument(
        "--days",
        type=_days,
        help="1 = the daily report (the default with --table), 7 = the weekly; with --scenario"
        " the default is the scenario's own days, the last one as far as it was played",
    )
    report.add_argument("--scenario", help="play this scenario file first, then report on it")
    report.add_argument("--table", help="the DomainTable of a deployed stack to read instead")
    report.add_argument(
        "--region",
        help="with --table: the table's AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or"
        " the profile's)",
    )
    report.add_argument(
        "--config",
        help="ops config file (default: the scenario's own config:, else infra/helpdesk.yaml);"
        " a scenario is played on this desk",
    )
    report.add_argument(
        "--lead", help="the report this address gets (its teams); default: the whole desk's"
    )
    report.set_defaults(run=_report)

    bench = commands.add_parser(
        "bench", help="speed, cost, memory and scale against their floors (under two minutes)"
    )
    bench.add_argument("--json", action="store_true", help="the figures as JSON, not a table")
    bench.add_argument(
        "--scale", action="store_true", help="simulate a burst on the local stack (docs/SCALE.md)"
    )
    bench.set_defaults(run=_bench)

    validate = commands.add_parser("validate", help="check the config file and the template")
    validate.add_argument(
        "config", nargs="?", help="the ops config file (default infra/helpdesk.yaml)"
    )
    validate.set_defaults(run=_validate)

    kb = commands.add_parser("kb", help="the knowledge base: build the static help centre")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    kb_build = kb_commands.add_parser(
        "build", help="write the help centre (a static site with search) of the articles"
    )
    kb_build.add_argument(
        "--out", default="build/helpcentre", help="folder to write (default build/helpcentre)"
    )
    kb_build.add_argument("--config", help="ops config file (default infra/helpdesk.yaml)")
    kb_build.set_defaults(run=_kb_build)

    redrive = commands.add_parser(
        "redrive", help="move a deployed stack's dead letters back to their queues"
    )
    redrive.add_argument("queue", nargs="?", help="one DLQ, e.g. EmailIntakeDLQ (default: all)")
    _deployed_stack_arguments(redrive)
    redrive.set_defaults(run=_redrive)

    backfill = commands.add_parser(
        "backfill-backlog",
        help="give a deployed desk's older tickets their BacklogIndex entries (after the "
        "deploy that adds the index, and after the one that lists contacts' tickets there)",
        description="Scan the stack's table once: set the backlog key on each open ticket "
        "that lacks it, list each ticket under its contact (TICKET#<ref> / CONTACT), and "
        "give each contact stored without a zone the zone none. "
        "Needs cloudformation:DescribeStacks, and dynamodb:Scan, UpdateItem and PutItem on "
        "the table. Running it again changes nothing it did (docs/DEPLOY.md, section 10).",
    )
    _deployed_stack_arguments(backfill)
    backfill.set_defaults(run=_backfill_backlog)

    args = parser.parse_args(argv)
    from helpdesk.config import ConfigError

    try:
        return int(args.run(args))
    except ConfigError as error:
        # A config's problems, each with its file, line and key, as `validate` prints them.
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
