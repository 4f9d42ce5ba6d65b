"""What one VU runs in: the run's context, the VU itself, its event loop and timers."""
