#!/usr/bin/env bash
# The audit log is JSON Lines: every line parses, carries ts/event/path/url,
# failures carry their error, mismatches algo/expected/actual.  Names with
# quotes and backslashes are escaped.  audit_log = sets its place.
. "$(dirname "$0")/lib.sh"

setup_origin
s_odd=$(add_model zoo/odd.bin 5000)
s_bad_real=$(add_model zoo/bad.bin 6000)
s_bad=$(printf 'something else' | sha256sum | cut -d' ' -f1)
ODD='odd/q"uote\back.bin'
AUDIT_FILE=$T/auditdir/custom.jsonl
cfg_begin audit_log="$AUDIT_FILE"
cfg_source zoo
cfg_model odd zoo "$ODD" zoo/odd.bin 5000 "$s_odd"
cfg_model missing zoo zoo/missing.bin zoo/missing.bin 10 "$s_odd"
cfg_model bad zoo zoo/bad.bin zoo/bad.bin 6000 "$s_bad"
mount_or_bail "$CFG" "$MNT"
start_s=$(date +%s)

assert_eq "a name with a quote and a backslash reads" "$(sysop read "$MNT/$ODD")" "$s_odd"
assert_errno "404 fails" EIO read "$MNT/zoo/missing.bin"
assert_errno "mismatch fails" EIO read "$MNT/zoo/bad.bin"
unmount_fs "$MNT"

if [ -f "$AUDIT_FILE" ]; then ok "audit_log = places the log"; else
	not_ok "audit_log = places the log" "no $AUDIT_FILE; store has: $(ls "$STORE")"; fi
assert_eq "no log at the default place when audit_log is set" "$(ls "$STORE/audit.jsonl" 2>/dev/null)" ""
assert_eq "audit log mode 0600" "$(stat -c %a "$AUDIT_FILE" 2>&1)" 600

while IFS= read -r line; do
	case $line in
	PASS\ *) ok "${line#PASS }" ;;
	FAIL\ *) rest=${line#FAIL }; not_ok "${rest%%: *}" "${rest#*: }" ;;
	*) diag "$line" ;;
	esac
done < <("$PY" - "$AUDIT_FILE" "$ODD" "$s_odd" "$s_bad" "$s_bad_real" "$ORIGIN" "$start_s" <<'PY'
import json, re, sys, datetime
file, odd, s_odd, s_bad, s_bad_real, origin, start = sys.argv[1:8]
start = int(start)
def res(ok, name, detail=""):
    print(("PASS " + name) if ok else ("FAIL %s: %s" % (name, detail)))
raw = open(file, "rb").read()
res(raw.endswith(b"\n"), "the log ends with a newline")
lines = raw.decode("utf-8").split("\n")[:-1]
res(len(lines) >= 7, "at least 7 events", "%d lines" % len(lines))
events, bad = [], []
for i, l in enumerate(lines, 1):
    try:
        e = json.loads(l)
        if not isinstance(e, dict):
            raise ValueError("not an object")
        events.append(e)
    except ValueError as x:
        bad.append("line %d: %s: %r" % (i, x, l[:200]))
res(not bad, "every line is a JSON object", "; ".join(bad))
known = {"fetch_start", "fetch_ok", "fetch_failed", "verify_ok", "verify_failed", "store_corrupt"}
ts_re = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]00:?00)$")
probs = []
for e in events:
    for k in ("ts", "event", "path", "url"):
        if not isinstance(e.get(k), str) or not e.get(k):
            probs.append("%s without %s: %s" % (e.get("event"), k, e))
    if e.get("event") not in known:
        probs.append("unknown event %r" % e.get("event"))
    ts = e.get("ts", "")
    if not ts_re.match(str(ts)):
        probs.append("ts %r is not RFC 3339 UTC" % ts)
    else:
        t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        if not (start - 60 <= t <= start + 600):
            probs.append("ts %r is not now" % ts)
    for k in ("bytes", "ms"):
        if k in e and (not isinstance(e[k], int) or e[k] < 0):
            probs.append("%s %r is not a count" % (k, e[k]))
res(not probs, "every event has ts (RFC 3339 UTC), event, path, url", "; ".join(probs[:5]))
def of(path, ev=None):
    return [e for e in events if (e.get("path") or "").lstrip("/") == path and (ev is None or e.get("event") == ev)]
seq = [e["event"] for e in of(odd)]
res(seq == ["fetch_start", "fetch_ok", "verify_ok"], "quote and backslash survive escaping (events for the odd name)", repr(seq))
res(all(e.get("url") == origin + "/zoo/odd.bin" for e in of(odd)), "url of the odd model", repr([e.get("url") for e in of(odd)]))
ff = of("zoo/missing.bin", "fetch_failed")
res(len(ff) == 1, "404: one fetch_failed", repr(of("zoo/missing.bin")))
res(all(isinstance(e.get("error"), str) and e["error"] for e in ff) and ff, "fetch_failed has an error", repr(ff))
res(all(e.get("url") == origin + "/zoo/missing.bin" for e in ff) and ff, "fetch_failed has the url", repr(ff))
vf = of("zoo/bad.bin", "verify_failed")
res(len(vf) == 1, "mismatch: one verify_failed", repr(of("zoo/bad.bin")))
for e in vf:
    res(e.get("algo") == "sha256", "verify_failed algo sha256", repr(e))
    res(e.get("expected") == s_bad, "verify_failed expected", repr(e))
    res(e.get("actual") == s_bad_real, "verify_failed actual", repr(e))
    res(e.get("url") == origin + "/zoo/bad.bin", "verify_failed url", repr(e))
res(not of("zoo/bad.bin", "verify_ok") and not of("zoo/missing.bin", "verify_ok"), "no verify_ok for a failure")
PY
)
