"""The pool of channel-keyed sessions, with stale eviction and pending-plan lookup."""

from __future__ import annotations

from collet_nb.core.kinds import ChannelId
from collet_nb.core.session import AgentSession


class SessionPool:
    """Sessions by channel.

    Args:
        timeout_secs: idle seconds after which a non-busy session is stale.
    """

    def __init__(self, timeout_secs: float) -> None:
        self._sessions: dict[ChannelId, AgentSession] = {}
        self.timeout_secs = timeout_secs

    def get(self, channel: ChannelId) -> AgentSession | None:
        """The session of ``channel``, if any."""
        return self._sessions.get(channel)

    def insert(self, channel: ChannelId, session: AgentSession) -> AgentSession | None:
        """Bind ``session`` to ``channel``; return the session it replaces, if any."""
        previous = self._sessions.get(channel)
        self._sessions[channel] = session
        return previous

    def remove(self, channel: ChannelId) -> AgentSession | None:
        """Unbind and return the session of ``channel``."""
        return self._sessions.pop(channel, None)

    def contains(self, channel: ChannelId) -> bool:
        """Whether ``channel`` has a session."""
        return channel in self._sessions

    def evict_stale(self, now: float) -> list[tuple[ChannelId, AgentSession]]:
        """Remove sessions idle for at least the timeout and not busy.

        Returns the evicted (channel, session) pairs so the caller can close their resources
        (MCP servers, child processes) and journal them.
        """
        stale = [
            (channel, session)
            for channel, session in self._sessions.items()
            if not session.busy and session.idle_secs(now) >= self.timeout_secs
        ]
        for channel, _ in stale:
            del self._sessions[channel]
        return stale

    def channels(self) -> list[ChannelId]:
        """Every channel with a session."""
        return list(self._sessions)

    def __len__(self) -> int:
        return len(self._sessions)
