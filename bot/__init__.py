"""Liquidity Bot: watches the Fed's liquidity plumbing and alerts chats when it changes."""

__version__ = "0.1.0"
