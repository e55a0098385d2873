"""What a server asks of the client's side: the person (``elicitation/create``) and the
session's model (``sampling/createMessage``), read from the SDK's params into the core's records,
and the answers written back in the SDK's types. ``mcp_types`` is imported only when a server
asks (the SDK is loaded by then).

A request this client cannot show (a nested form, a link that is not http or https) is refused
with an error saying why: nothing is answered in the person's name.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from collet_nb.adapters.mcp.content import block_text
from collet_nb.core.elicitation import (
    ElicitationAnswer,
    ElicitationRequest,
    SchemaUnsupported,
    fields_of,
    url_openable,
)
from collet_nb.core.images import Image, image_of
from collet_nb.core.sampling import SampledMessage, SamplingReply, SamplingRequest
from collet_nb.errors import ColletError

logger = logging.getLogger(__name__)

Elicit = Callable[[ElicitationRequest], Awaitable[ElicitationAnswer]]
Sample = Callable[[SamplingRequest], Awaitable[SamplingReply]]
# The code a client answers with when the person (or the client for them) refuses (MCP spec:
# "User rejected sampling request").
REFUSED = -1


def elicitation_of(server: str, params: Any) -> ElicitationRequest:
    """The request an ``ElicitRequestFormParams`` / ``ElicitRequestURLParams`` makes.

    Raises:
        SchemaUnsupported: for a form this client cannot show, or a link it will not show.
    """
    if getattr(params, "mode", "form") == "url":
        url = str(params.url)
        if not url_openable(url):
            raise SchemaUnsupported(f"the link {url[:200]!r} is not an http or https URL")
        return ElicitationRequest(server=server, message=str(params.message), mode="url", url=url)
    return ElicitationRequest(
        server=server,
        message=str(params.message),
        fields=fields_of(dict(params.requested_schema or {})),
    )


def elicit_result(answer: ElicitationAnswer) -> Any:
    """The SDK's ``ElicitResult`` of an answer."""
    import mcp_types

    content = dict(answer.content) if answer.content is not None else None
    return mcp_types.ElicitResult(action=answer.action, content=content)


def sampling_of(server: str, params: Any) -> SamplingRequest:
    """The request a ``CreateMessageRequestParams`` makes (non-text parts described)."""
    preferences = getattr(params, "model_preferences", None)
    hints = tuple(
        str(h.name) for h in (getattr(preferences, "hints", None) or ()) if getattr(h, "name", None)
    )
    return SamplingRequest(
        server=server,
        messages=tuple(_sampled(server, m) for m in params.messages),
        max_tokens=int(params.max_tokens),
        system_prompt=str(params.system_prompt or ""),
        temperature=params.temperature,
        stop_sequences=tuple(params.stop_sequences or ()),
        model_hints=hints,
    )


def _sampled(server: str, message: Any) -> SampledMessage:
    """One message of a sampling request: its text parts, and its images apart (image parts
    for a model that takes them, described for one that does not)."""
    texts: list[str] = []
    images: list[Image] = []
    for block in message.content_as_list:
        image = (
            image_of(str(block.mime_type), block.data, source=f"{server} sampling")
            if getattr(block, "type", "") == "image"
            else None
        )
        if image is not None:
            images.append(image)
        else:
            texts.append(block_text(block))
    return SampledMessage(
        role="assistant" if str(message.role) == "assistant" else "user",
        text="\n".join(texts),
        images=tuple(images),
    )


def sampling_result(reply: SamplingReply) -> Any:
    """The SDK's ``CreateMessageResult`` of the model's reply."""
    import mcp_types

    return mcp_types.CreateMessageResult(
        role="assistant",
        content=mcp_types.TextContent(type="text", text=reply.text),
        model=reply.model,
        stop_reason=reply.stop_reason,
    )


def refusal(message: str, *, code: int = REFUSED) -> Any:
    """The SDK's ``ErrorData`` of a refusal the server reads."""
    import mcp_types

    return mcp_types.ErrorData(code=code, message=message)


async def answer_elicitation(server: str, params: Any, elicit: Elicit) -> Any:
    """Ask the person through ``elicit``; the SDK result (or refusal) to send."""
    import mcp_types

    try:
        request = elicitation_of(server, params)
    except SchemaUnsupported as exc:
        logger.warning("MCP server %r: elicitation refused: %s", server, exc)
        return refusal(f"collet_nb cannot show this request: {exc}", code=mcp_types.INVALID_PARAMS)
    try:
        return elicit_result(await elicit(request))
    except ColletError as exc:
        return refusal(str(exc))


async def answer_sampling(server: str, params: Any, sample: Sample) -> Any:
    """Ask the session's model through ``sample``; the SDK result (or refusal) to send."""
    if getattr(params, "tools", None):
        return refusal("collet_nb does not offer tools during sampling")
    try:
        return sampling_result(await sample(sampling_of(server, params)))
    except ColletError as exc:
        return refusal(str(exc))
