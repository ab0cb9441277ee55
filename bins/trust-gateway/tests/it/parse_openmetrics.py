"""Parses an OpenMetrics exposition from stdin with the Prometheus project's own Python
client (its strict OpenMetrics parser) and prints the samples as JSON lines:
{"family", "type", "name", "labels", "value"}. Exits non-zero on anything it refuses."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        print(json.dumps({"family": family.name, "type": family.type, "name": s.name,
                          "labels": s.labels, "value": s.value}))
