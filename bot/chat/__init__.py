"""Chat adapters: console, Telegram, Slack. Each translates platform payloads to command
calls and outbox rows to platform calls, and nothing else; bot/chat/adapter.py declares the
one interface (ChatAdapter) the runtime and the delivery loop use."""
