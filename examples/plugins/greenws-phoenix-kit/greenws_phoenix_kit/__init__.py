"""Phoenix Channels for greenws: a sample third-party protocol kit (see docs/protocols.md)."""
