"""Shared test stand-ins: scripted models, tools, journals, and the loopback LLM server."""
