"""greenws's InfluxDB output: ``--out influxdb=URL`` (v1, as k6) and ``--out influxdb2=URL`` (v2)."""

__version__ = "0.1.0"
