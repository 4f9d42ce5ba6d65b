"""``examples/grafana``'s docker-compose set-up, read as Docker and Grafana would read it.

No Docker on this machine, so the stack is not started here; what can go wrong without anyone
noticing is checked instead: every file it mounts exists, Grafana's provisioning points at the
directory the dashboards are mounted in and names the data sources (by uid) that the dashboards
use, and Prometheus is started with the remote-write receiver that greenws's output needs. The
dashboards' queries themselves run against a real InfluxDB and Prometheus in
``test_grafana_dashboard.py`` and ``test_grafana_prometheus_dashboard.py``; the Prometheus
configuration and flags are checked by the real ``promtool``/``prometheus`` in the latter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parents[2] / "examples" / "grafana"
COMPOSE = HERE / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> the host file or directory it mounts (relative to the compose file)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_mode = volume.split(":")
        mounts[target] = (COMPOSE.parent / source).resolve()
    return mounts


def _uids(node: Any) -> set[str]:
    """Every data source uid a dashboard refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        source = node.get("datasource")
        uid = source.get("uid") if isinstance(source, dict) else None
        if isinstance(uid, str) and not uid.startswith("$"):  # "$datasource" is a variable
            found.add(uid)
        for value in node.values():
            found |= _uids(value)
    elif isinstance(node, list):
        for value in node:
            found |= _uids(value)
    return found


def test_every_mounted_file_exists_and_every_port_is_loopback_only() -> None:
    services = _compose()["services"]
    assert set(services) == {"influxdb", "prometheus", "grafana"}
    for name, service in services.items():
        for target, source in _mounts(service).items():
            assert source.exists(), f"{name} mounts {source} at {target}: no such file"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert set(services["grafana"]["depends_on"]) == {"influxdb", "prometheus"}


def test_prometheus_receives_remote_write_with_native_histograms_and_its_mounted_config() -> None:
    prometheus = _compose()["services"]["prometheus"]
    flags = prometheus["command"]
    assert "--web.enable-remote-write-receiver" in flags
    assert "--enable-feature=native-histograms" in flags
    config = next(f.split("=", 1)[1] for f in flags if f.startswith("--config.file="))
    mounted = _mounts(prometheus)[config]
    assert mounted == HERE / "prometheus.yml"
    assert "global" in yaml.safe_load(mounted.read_text())


def test_grafana_provisions_both_dashboards_and_the_data_sources_they_use() -> None:
    grafana = _compose()["services"]["grafana"]
    mounts = _mounts(grafana)
    provisioning = mounts["/etc/grafana/provisioning"]
    providers = yaml.safe_load((provisioning / "dashboards" / "greenws.yml").read_text())
    folder = providers["providers"][0]["options"]["path"]
    dashboards = {t: s for t, s in mounts.items() if t.startswith(folder + "/")}
    assert {s.name for s in dashboards.values()} == {"dashboard.json", "dashboard-prometheus.json"}
    assert grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] in dashboards
    sources = {}
    for file in sorted((provisioning / "datasources").glob("*.yml")):
        for source in yaml.safe_load(file.read_text())["datasources"]:
            sources[source["uid"]] = source
    services = _compose()["services"]
    for source in sources.values():  # each data source points at a service of the stack
        host, port = source["url"].removeprefix("http://").split(":")
        assert host in services, source
        assert any(p.endswith(f":{port}") for p in services[host]["ports"]), source
    for path in dashboards.values():
        used = _uids(json.loads(path.read_text()))
        assert used, f"{path.name} names no data source"
        assert used <= set(sources), f"{path.name} uses {used - set(sources)}, not provisioned"
    assert sources["greenws-prometheus"]["type"] == "prometheus"
    assert sources["greenws-influxdb"]["type"] == "influxdb"
