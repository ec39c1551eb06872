"""The bot without Telegram: a fake Bot API over real HTTP, people who chat with it, and the
terminal of `finance-bot sandbox`.

It ships in the package because `finance-bot sandbox` needs it, and the end-to-end tests and
the chat benchmark drive the bot through it too. The product never imports it (an
import-linter contract in pyproject.toml says so); only the `sandbox` command of the CLI does.
"""
