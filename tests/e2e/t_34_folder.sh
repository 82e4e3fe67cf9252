#!/usr/bin/env bash
# A model that is a folder of plain files (url ending in '/', one `file`
# line per file, no archive): the shape of a Hugging Face repository.
# Listed without network; each file fetched from url + its name (escaped)
# on its own first open and verified on its own; a file whose bytes do not
# match fails its own opens while its siblings are served.
. "$(dirname "$0")/lib.sh"

setup_origin
s_cfg=$(add_model repo/bert/config.json 612)
s_w=$(add_model repo/bert/model-00001-of-00002.safetensors 300000)
s_t=$(add_model "repo/bert/tok/a+b.json" 2000)
s_bad=$(add_model repo/bert/model-00002-of-00002.safetensors 300000)
head -c 300000 /dev/urandom >"$WWW/repo/bert/model-00002-of-00002.safetensors"  # tampered

cfg_begin
cfg_source hf
{
	echo
	echo "[model bert]"
	echo "source = hf"
	echo "path = nlp/bert"
	echo "url = repo/bert/"
	echo "file = config.json 612 sha256:$s_cfg"
	echo "file = model-00001-of-00002.safetensors 300000 sha256:$s_w"
	echo "file = model-00002-of-00002.safetensors 300000 sha256:$s_bad"
	echo "file = tok/a+b.json 2000 sha256:$s_t"
} >>"$CFG"
mount_or_bail "$CFG" "$MNT"

assert_eq "listed without network" \
	"$(cd "$MNT/nlp/bert" && find . -type f | sort | tr '\n' ' ')" \
	"./config.json ./model-00001-of-00002.safetensors ./model-00002-of-00002.safetensors ./tok/a+b.json "
assert_eq "sizes from the file lines" "$(stat -c %s "$MNT/nlp/bert/model-00001-of-00002.safetensors")" 300000
assert_eq "no GET for a listing" "$(origin_total)" 0

assert_eq "config.json: read ok" "$(sysop read "$MNT/nlp/bert/config.json")" "$s_cfg"
assert_eq "config.json: one GET, of it alone" "$(origin_total) $(origin_hits /repo/bert/config.json)" "1 1"
assert_eq "a shard: read ok" "$(sysop read "$MNT/nlp/bert/model-00001-of-00002.safetensors")" "$s_w"
assert_eq "a name with '+': fetched as %2B, read ok" "$(sysop read "$MNT/nlp/bert/tok/a+b.json")" "$s_t"
assert_eq "... one GET" "$(origin_hits /repo/bert/tok/a%2Bb.json)" 1
assert_errno "a tampered shard: EIO" EIO read "$MNT/nlp/bert/model-00002-of-00002.safetensors"
assert_eq "... verify_failed for it alone" \
	"$(audit_count verify_failed '*') $(audit_field verify_failed '*' path)" \
	"1 nlp/bert/model-00002-of-00002.safetensors"
assert_eq "its siblings are still served" "$(sysop read "$MNT/nlp/bert/config.json")" "$s_cfg"
assert_eq "each file its own object" "$(ls "$STORE/objects" | grep -cE "$s_cfg|$s_w|$s_t")" 3
