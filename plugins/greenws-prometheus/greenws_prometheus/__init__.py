"""greenws's Prometheus remote-write output (k6's ``experimental-prometheus-rw``)."""
