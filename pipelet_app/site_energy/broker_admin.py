"""Tell a running Mosquitto about a site's new password, through its dynamic security plugin.

The plugin takes commands as JSON published to `$CONTROL/dynamic-security/v1` by a client it lets manage
it, answers on `.../response`, applies them at once and saves its config: no restart, no reload, and it
disconnects the clients whose user it changed (a rotated password ends the sessions of the old one). That
works the same for `pipelet run`'s embedded broker (whose admin login `pipelet run` hands its children in
MQTT_ADMIN_URL) and for an operator's own Mosquitto with the plugin (they set MQTT_ADMIN_URL).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiomqtt

from pipelet_app.domain.mqtt_access import CONTROL_TOPIC, RESPONSE_TOPIC, command_errors, issue_commands
from pipelet_app.site_energy.consumer import broker_address, broker_login

TIMEOUT_S = 5.0


class BrokerRefused(RuntimeError):
    """The broker could not be reached, refused the admin login, or did not apply a command. The text
    names host and port and the plugin's own error, never a password."""


class OutcomeUnknown(BrokerRefused):
    """The commands were published but no answer came in time: the broker may have applied them or not.
    A caller must not claim that nothing changed (the old password may already be gone)."""


async def send(admin_url: str, commands: list[dict[str, Any]], timeout: float = TIMEOUT_S) -> list[dict]:
    """Run `commands` on the broker; its responses, or BrokerRefused."""
    host, port = broker_address(admin_url)
    user, password = broker_login(admin_url)
    correlation = uuid.uuid4().hex
    body = json.dumps({"commands": [{**c, "correlationData": correlation} for c in commands]})
    sent = False
    try:
        async with asyncio.timeout(timeout):
            async with aiomqtt.Client(
                host, port, username=user, password=password, identifier=f"pipelet-admin-{correlation[:8]}"
            ) as client:
                await client.subscribe(RESPONSE_TOPIC, qos=1)
                sent = True  # from here on, the broker may apply the commands whether or not it answers
                await client.publish(CONTROL_TOPIC, body.encode(), qos=1)
                async for message in client.messages:
                    answer = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                    responses = answer.get("responses", [])
                    if any(r.get("correlationData") == correlation for r in responses):
                        return [r for r in responses if r.get("correlationData") == correlation]
    except TimeoutError:
        if sent:
            raise OutcomeUnknown(
                f"the MQTT broker at {host}:{port} did not answer the admin command"
            ) from None
        raise BrokerRefused(
            f"the MQTT broker at {host}:{port} did not accept the admin client in time"
        ) from None
    except aiomqtt.MqttError as exc:
        if sent:
            raise OutcomeUnknown(
                f"the MQTT broker at {host}:{port} dropped the admin client ({exc})"
            ) from None
        raise BrokerRefused(f"the MQTT broker at {host}:{port} refused the admin client ({exc})") from None
    raise OutcomeUnknown(f"the MQTT broker at {host}:{port} closed the admin connection before answering")


async def set_site_password(admin_url: str, site_id: int, password: str) -> None:
    """Make `password` the one and only password of site `site_id`'s user on the broker, with its role."""
    responses = await send(admin_url, issue_commands(site_id, password))
    failed = command_errors(responses)
    if failed or len(responses) < 3:
        reason = "; ".join(failed or ["no answer"])
        raise BrokerRefused(f"the MQTT broker did not apply the credential: {reason}")
