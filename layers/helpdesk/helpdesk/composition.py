"""The one composition root: what a function's handler uses, each built once per container.

A handler module makes one ``Composition()`` at import (a Lambda container imports it
once; the local stack loads one module per simulated container) and asks it for the one
service it calls. Every builder is a cached property that imports its adapter or service
on first use, so a cold start pays only for what its handler reaches, and the environment
(helpdesk.environment) is read once, on the first builder that needs it.

Which variables a function reads is what its builders read: ``helpdesk_local.checks``
follows ``self.<builder>`` and ``environment.<field>`` here to check the template.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpdesk.aws.ticket_store import DynamoTicketStore
    from helpdesk.config import Config
    from helpdesk.environment import Environment
    from helpdesk.knowledge import KnowledgeBase
    from helpdesk.notices import Notifier
    from helpdesk.ports import Mailer, MailStore, Publisher
    from helpdesk.services.agent_api import AgentDesk
    from helpdesk.services.complaints import ComplaintDesk
    from helpdesk.services.email_intake import EmailIntake
    from helpdesk.services.form_intake import FormDesk
    from helpdesk.services.message_intake import MessageDesk
    from helpdesk.services.portal import PortalDesk
    from helpdesk.services.reports import ReportDesk
    from helpdesk.services.routing import Router
    from helpdesk.services.self_service import SelfServiceDesk
    from helpdesk.services.sla_sweep import SlaSweep
    from helpdesk.services.surveys import SurveyDesk, SurveyDispatch


class Composition:
    """Adapters and services of one container, built on first use."""

    def __init__(self, environment: Environment | None = None) -> None:
        self._given = environment

    # ------------------------------------------------------------------ settings and ports
    @cached_property
    def environment(self) -> Environment:
        from helpdesk.environment import Environment

        return self._given if self._given is not None else Environment.from_os()

    @cached_property
    def config(self) -> Config:
        """The ops config, checked against the stack's address parameters: a function of a
        desk deployed apart from its config refuses to start, naming both values."""
        from helpdesk.environment import MissingSetting
        from helpdesk.runtime import load_config_once

        config = load_config_once(self.environment.config_path)
        problem = self.environment.disagreement(config.helpdesk.address)
        if problem is not None:
            raise MissingSetting(problem)
        return config

    @cached_property
    def repository(self) -> DynamoTicketStore:
        """The unit of work on the function's table, and the repository of the records kept
        beside the tickets (counters, suppressed mail, queues, sent mail)."""
        from helpdesk.aws.ticket_store import DynamoTicketStore

        environment = self.environment
        return DynamoTicketStore(
            environment.table_name, config=self.config, timer_shards=environment.timer_shards
        )

    @cached_property
    def publisher(self) -> Publisher:
        from helpdesk.aws.events import EventBridgePublisher

        return EventBridgePublisher(self.environment.event_bus_name)

    @cached_property
    def mailer(self) -> Mailer:
        from helpdesk.aws.ses import SesMailer

        return SesMailer()

    @cached_property
    def mail_store(self) -> MailStore:
        from helpdesk.aws.s3 import S3MailStore

        return S3MailStore(self.environment.raw_bucket)

    @cached_property
    def signing_key(self) -> bytes:
        """Read once per container: it signs survey links and keys the Message-IDs of the
        mail sent, and changes only with a deployment."""
        from helpdesk.aws.ssm import secret_parameter

        return secret_parameter(self.environment.signing_key_parameter)

    # ------------------------------------------------------------------ services
    @cached_property
    def email_intake(self) -> EmailIntake:
        from helpdesk.services.email_intake import EmailIntake

        return EmailIntake(
            uow=self.repository,
            repo=self.repository,
            store=self.mail_store,
            config=self.config,
            knowledge=lambda: self.knowledge,
        )

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        """The saved replies and articles, loaded the first time a mail needs them (most
        mail does not: the import and the bundle stay off the cold start)."""
        from helpdesk.knowledge import KnowledgeBase

        return KnowledgeBase.load(self.environment.knowledge_path)

    @cached_property
    def knowledge_bundle(self) -> str:
        """Where the knowledge bundle is, for the form page, which reads only its search
        data (helpdesk.web.form_suggestions) and never loads the retrieval index."""
        return self.environment.knowledge_path

    @cached_property
    def form_desk(self) -> FormDesk:
        from helpdesk.services.form_intake import FormDesk

        return FormDesk(
            uow=self.repository,
            repo=self.repository,
            config=self.config,
            knowledge=lambda: self.knowledge,
        )

    @cached_property
    def message_desk(self) -> MessageDesk:
        """The channels' route; each channel's secret is read from SSM the first time a
        request names the channel, then kept for the container's life."""
        from helpdesk.aws.ssm import secret_parameter
        from helpdesk.services.message_intake import ChannelSecrets, MessageDesk

        return MessageDesk(
            uow=self.repository,
            repo=self.repository,
            config=self.config,
            store=self.mail_store,
            knowledge=lambda: self.knowledge,
            secrets=ChannelSecrets(secret_parameter, path=self.environment.channel_secrets_path),
        )

    @cached_property
    def agent_desk(self) -> AgentDesk:
        from helpdesk.services.agent_api import AgentDesk

        return AgentDesk(
            uow=self.repository, repo=self.repository, config=self.config, store=self.mail_store
        )

    @cached_property
    def notifier(self) -> Notifier:
        """The one notifier: every function that mails uses it, or a copy of it with what
        its mails add (``replace``). The records of sent mail are kept in the function's
        table, beside the tickets."""
        from helpdesk.aws.sent_mail import DynamoSentMail
        from helpdesk.notices import Notifier

        return Notifier(
            repo=self.repository,
            mailer=self.mailer,
            config=self.config,
            signing_key=self.signing_key,
            sent_mail=DynamoSentMail(self.repository),
        )

    @cached_property
    def acknowledge_notifier(self) -> Notifier:
        """The acknowledge function's notifier: a relayed reply carries the agent's files,
        read from the mail bucket; a mail to a customer, the link to the ticket's page; an
        acknowledgement links the suggested articles' pages; a relayed customer message and an
        assignment by a colleague show the agent's assistant (the knowledge base, loaded on
        first use)."""
        from dataclasses import replace

        return replace(
            self.notifier,
            mail_store=self.mail_store,
            public_url=self.environment.public_url,
            knowledge=lambda: self.knowledge,
        )

    @cached_property
    def router(self) -> Router:
        from dataclasses import replace

        from helpdesk.services.routing import Router

        # The assignment shows the agent the whole first message (the raw mail is read when
        # the message item keeps an excerpt) and carries its files (read from attachments/);
        # and the agent's assistant, from the knowledge base loaded on the first assignment.
        notifier = replace(
            self.notifier, mail_store=self.mail_store, knowledge=lambda: self.knowledge
        )
        return Router(
            uow=self.repository, repo=self.repository, notifier=notifier, config=self.config
        )

    @cached_property
    def sla_sweep(self) -> SlaSweep:
        from helpdesk.services.sla_sweep import SlaSweep

        return SlaSweep(uow=self.repository, repo=self.repository, config=self.config)

    @cached_property
    def survey_dispatch(self) -> SurveyDispatch:
        from dataclasses import replace

        from helpdesk.services.surveys import SurveyDispatch

        public_url = self.environment.public_url
        # The survey is a mail to the customer about the ticket: it links the ticket's page.
        return SurveyDispatch(
            uow=self.repository,
            repo=self.repository,
            notifier=replace(self.notifier, public_url=public_url),
            config=self.config,
            signing_key=self.signing_key,
            public_url=public_url,
        )

    @cached_property
    def survey_desk(self) -> SurveyDesk:
        from helpdesk.services.surveys import SurveyDesk

        return SurveyDesk(
            uow=self.repository,
            repo=self.repository,
            config=self.config,
            signing_key=self.signing_key,
        )

    @cached_property
    def portal_desk(self) -> PortalDesk:
        """The customer's page: it reads the ticket's files from the mail bucket and keeps
        the files of a reply there; fresh links it only records (acknowledge mails them)."""
        from helpdesk.services.portal import PortalDesk

        return PortalDesk(
            uow=self.repository,
            repo=self.repository,
            store=self.mail_store,
            config=self.config,
            signing_key=self.signing_key,
            complaints=lambda: self.complaints,
        )

    @cached_property
    def complaints(self) -> ComplaintDesk:
        """Complaints to the team lead, from the customer's page and the survey page."""
        from helpdesk.services.complaints import ComplaintDesk

        return ComplaintDesk(uow=self.repository, config=self.config, counters=self.repository)

    @cached_property
    def self_service_desk(self) -> SelfServiceDesk:
        from helpdesk.services.self_service import SelfServiceDesk

        return SelfServiceDesk(
            uow=self.repository,
            repo=self.repository,
            config=self.config,
            signing_key=self.signing_key,
            knowledge=lambda: self.knowledge,
        )

    @cached_property
    def report_desk(self) -> ReportDesk:
        from helpdesk.services.reports import ReportDesk

        return ReportDesk(repo=self.repository, notifier=self.notifier, config=self.config)
