"""Adapters: providers, tools, MCP and the journal, implementing the core's ports."""
