"""message_intake: POST /intake/messages, the configured channels' messages (a chat widget,
a phone system, a messenger bridge), signed with the channel's secret (docs/CHANNELS.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from helpdesk import clock
from helpdesk.composition import Composition

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
app = APIGatewayHttpResolver()
root = Composition()


@app.post("/intake/messages")
def post_message() -> Response[str]:
    from helpdesk.http import json_answer

    event = app.current_event

    def work() -> dict[str, Any]:
        from helpdesk.errors import NotSetUp

        try:
            answer = root.message_desk.post(
                body=event.body,
                is_base64_encoded=event.is_base64_encoded,
                headers=dict(event.headers),
                now=clock.now(),
            )
        except NotSetUp as missing:
            # The caller gets a 503; the operator reads here what to deploy (docs/DEPLOY.md).
            logger.error("channel not set up", extra={"problem": str(missing)})
            raise
        # The ticket's reference only: never the text, the contact or the secret.
        logger.info("channel message taken in", extra={"ticket": answer["ref"]})
        return answer

    # 200 for the first delivery and for every repeat: the same message id answers the same.
    return json_answer(200, work)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
