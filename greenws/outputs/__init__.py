"""Built-in outputs, each an ordinary plugin registered like a third-party one."""
