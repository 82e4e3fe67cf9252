// oracle.js TRUSTED_ROOT IDENTITY ISSUER BUNDLE...
// Verifies each keyless bundle with npm's @sigstore/verify, offline, as
// an independent oracle for modelfs (tests/e2e/t_39_keyless.sh): one line
// per bundle, "ok PATH" or "fail PATH CODE MESSAGE".  The policy is
// modelfs's: the SAN equals IDENTITY, the issuer extension ISSUER, and at
// least one tlog entry, one SCT and one verified time.
'use strict';
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [root, identity, issuer, ...bundles] = process.argv.slice(2);
const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(root, 'utf8'))));
const verifier = new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
for (const path of bundles) {
  try {
    const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(path, 'utf8')));
    verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: identity, extensions: { issuer } });
    console.log(`ok ${path}`);
  } catch (e) {
    console.log(`fail ${path} ${e.code || ''} ${String(e.message).split('\n')[0]}`);
  }
}
