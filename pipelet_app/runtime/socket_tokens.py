"""A tab keeps its Reflex token when its event socket reconnects before the server saw the old one close.

Reflex (0.8.5 on) treats a token arriving on a new socket while an older socket still holds it as a
duplicated browser tab and hands the new socket a fresh token — a fresh, empty state
(reflex-dev/reflex#6345, #6252). A full page load does exactly that: the old page's socket closes as the
new page's opens, and on a busy server the new `connect` is handled before the old `disconnect`. The tab
then works under a token whose state the events it already sent never reach: a claimed charger's
once-shown password box appeared with its text empty and the charger link missing, a CSV upload's
preview never arrived (fresh-clone CI, session 11 and 12). And the old socket's late `disconnect`
removed the token's mapping outright (Reflex's in-memory manager does not check the socket id), so the
server dropped the updates of a tab that was still connected.

Here the newest socket simply takes the token over, and a socket's `disconnect` only forgets the
mapping it made. Two tabs that share a token (a tab duplicated by hand) share one state again, as before
Reflex 0.8.5; nothing is exposed by it: every handler reads the signed-in user from the socket's own
cookie (`SessionState`), never from the state.
"""

from __future__ import annotations

from reflex.utils.token_manager import LocalTokenManager, RedisTokenManager, SocketRecord, TokenManager

_MARK = "_pipelet_same_tab"


class SameTabTokenManager(LocalTokenManager):
    """The in-memory manager (embedded deployment): the newest socket of a token owns it."""

    async def link_token_to_sid(self, token: str, sid: str) -> str | None:
        previous = self.token_to_socket.get(token)
        if previous is not None and previous.sid != sid:
            self.sid_to_token.pop(previous.sid, None)
            del self.token_to_socket[token]
        return await super().link_token_to_sid(token, sid)

    async def disconnect_token(self, token: str, sid: str) -> None:
        self.sid_to_token.pop(sid, None)
        record = self.token_to_socket.get(token)
        if record is not None and record.sid == sid:
            del self.token_to_socket[token]


class SameTabRedisTokenManager(RedisTokenManager):
    """The Redis manager (scale-out): the newest socket of a token owns it, on whichever web node it
    landed; the node that held the old socket learns it from the record's `set` notification (Reflex's
    own subscriber), and its disconnect then leaves the new record alone (Reflex checks the owner)."""

    async def link_token_to_sid(self, token: str, sid: str) -> str | None:
        previous = self.token_to_socket.get(token)
        if previous is not None and previous.sid == sid:
            return None
        self._ensure_socket_record_task()
        if previous is not None:
            self.sid_to_token.pop(previous.sid, None)
        record = self.token_to_socket[token] = SocketRecord(instance_id=self.instance_id, sid=sid)
        self.sid_to_token[sid] = token
        await self._store_socket_record(token, record)
        return None


def install() -> None:
    """Make Reflex's `TokenManager.create` build the managers above; call before `rx.App(...)` is built
    (its event namespace creates the manager)."""
    original = TokenManager.create.__func__  # type: ignore[attr-defined]
    if getattr(original, _MARK, False):
        return

    def create(cls: type[TokenManager]) -> TokenManager:
        manager = original(cls)
        if isinstance(manager, RedisTokenManager):
            return SameTabRedisTokenManager(manager.redis)
        return SameTabTokenManager()

    setattr(create, _MARK, True)
    TokenManager.create = classmethod(create)  # type: ignore[method-assign, assignment]
