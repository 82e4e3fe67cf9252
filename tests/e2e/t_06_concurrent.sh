#!/usr/bin/env bash
# Eight first opens at once share one download.
. "$(dirname "$0")/lib.sh"

# About a second to download, so every open arrives while it is in flight.
origin_conf 'location /paced/ { limit_rate 1m; }'
setup_origin
sha=$(add_model paced/m.bin 1048576)
cfg_begin
cfg_source zoo
cfg_model m zoo zoo/m.bin paced/m.bin 1048576 "$sha"
mount_or_bail "$CFG" "$MNT"

pids=()
for i in 1 2 3 4 5 6 7 8; do
	bg timeout $((60 * SLOW)) cat "$MNT/zoo/m.bin" >"$T/out.$i" 2>"$T/err.$i"
	pids+=("$BG")
done
fails=0
for i in 1 2 3 4 5 6 7 8; do
	wait "${pids[$((i - 1))]}" || fails=$((fails + 1))
done
assert_eq "all 8 readers succeeded" "$fails" 0
same=0
for i in 1 2 3 4 5 6 7 8; do cmp -s "$T/out.$i" "$WWW/paced/m.bin" && same=$((same + 1)); done
assert_eq "all 8 outputs are the origin bytes" "$same" 8
assert_eq "exactly one origin GET" "$(origin_hits /paced/m.bin)" 1
assert_eq "exactly one fetch_start" "$(audit_count fetch_start zoo/m.bin)" 1
assert_eq "exactly one verify_ok" "$(audit_count verify_ok zoo/m.bin)" 1
assert_eq "one object" "$(count_files "$STORE/objects")" 1
