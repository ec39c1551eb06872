"""aiogram routers, one per feature, each built by a factory."""
