"""asyncio orchestration: the per-session runner, the agent loop, approvals."""
