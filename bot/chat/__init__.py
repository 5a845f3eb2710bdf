"""Chat adapters: console, Telegram, Slack. Each translates platform payloads to command
calls and outbox rows to platform calls, and nothing else."""
