"""The old Flask dashboard's reads, over alerts given as NDJSON (one LRANGE
entry per line, as the dashboard got them from Redis).

What it does, as the dashboard did:
  * counts alerts by the exact strings "Critical", "High", "Medium", "Low";
  * filters the list by one of those strings (alert["severity"] == choice);
  * keeps the alerts of the last 24 hours by comparing
    datetime.fromisoformat(alert["timestamp"]) with a naive datetime.now();
  * builds the timeline: every timestamp in one pandas column
    (pd.to_datetime), compared with the same naive cut-off and counted per
    hour. Without pandas the column is emulated: all timestamps parsed with
    fromisoformat into one list, sorted, and compared.

Prints one JSON report on stdout. Any exception a step raises is reported,
per alert or for the timeline, as the dashboard would have crashed or
dropped the alert.
"""
import json
import sys
from datetime import datetime, timedelta

SEVERITIES = ["Critical", "High", "Medium", "Low"]


def main(path):
    with open(path, encoding="utf-8") as f:
        alerts = [json.loads(line) for line in f if line.strip()]
    now = datetime.now()
    cutoff = now - timedelta(hours=24)
    counts = {s: sum(1 for a in alerts if a.get("severity") == s) for s in SEVERITIES}
    per = []
    for a in alerts:
        row = {"entity": a.get("entity", ""), "counted_as": None, "recent": False, "error": None}
        for s in SEVERITIES:  # the dashboard's filter: alert["severity"] == choice
            if a in [x for x in alerts if x.get("severity") == s]:
                row["counted_as"] = s
        try:
            row["recent"] = datetime.fromisoformat(a["timestamp"]) > cutoff
        except (KeyError, TypeError, ValueError) as e:
            row["error"] = "%s: %s" % (type(e).__name__, e)
        per.append(row)
    report = {"python": sys.version.split()[0], "total": len(alerts), "counts": counts,
              "alerts": per, "timeline": timeline(alerts, cutoff)}
    json.dump(report, sys.stdout)


def timeline(alerts, cutoff):
    stamps = [a.get("timestamp") for a in alerts]
    try:
        import pandas as pd
    except ImportError:
        try:
            column = sorted(datetime.fromisoformat(s) for s in stamps)
            return {"engine": "list", "recent": sum(1 for t in column if t > cutoff), "error": None}
        except (TypeError, ValueError) as e:
            return {"engine": "list", "recent": 0, "error": "%s: %s" % (type(e).__name__, e)}
    try:
        column = pd.to_datetime(pd.Series(stamps))
        recent = column[column > pd.Timestamp(cutoff)]
        recent.dt.floor("h").value_counts()
        return {"engine": "pandas " + pd.__version__, "recent": int(len(recent)), "error": None}
    except Exception as e:  # pandas raises TypeError, ValueError and its own kinds
        return {"engine": "pandas " + pd.__version__, "recent": 0, "error": "%s: %s" % (type(e).__name__, e)}


if __name__ == "__main__":
    main(sys.argv[1])
