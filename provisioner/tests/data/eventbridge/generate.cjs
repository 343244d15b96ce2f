// Generates eventbridge-vectors.json: Control Room's EventBridge payloads as the official AWS Encryption SDK
// for JavaScript makes them (Control Room's own side is that SDK), plus the ways they can go wrong.
//
//   npm install --prefix /tmp/esdk-gen @aws-crypto/client-node@5.0.2
//   NODE_PATH=/tmp/esdk-gen/node_modules node generate.cjs > ../eventbridge-vectors.json
//
// Keyring (DESIGN.md §3): raw AES, AES-256-GCM IV12 TAG16, namespace "robocorp", name "on-demand-worker-secret",
// wrapping key = SHA-256 of the shared secret's UTF-8 bytes. Every run makes new vectors (fresh data keys and
// IVs); the expectations stay the same.
"use strict";
const crypto = require("node:crypto");
const {
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  AlgorithmSuiteIdentifier,
} = require("@aws-crypto/client-node");

const NAMESPACE = "robocorp";
const KEY_NAME = "on-demand-worker-secret";
const CURRENT = "vector-secret-current-0123456789abcdef";
const PREVIOUS = "vector-secret-previous-fedcba9876543210";
const OTHER = "vector-secret-not-ours-00000000000000";
const LINK_TOKEN = "vector-link-token-7f3a9c2e";

function keyring(secret, keyName = KEY_NAME) {
  return new RawAesKeyringNode({
    keyNamespace: NAMESPACE,
    keyName,
    unencryptedMasterKey: crypto.createHash("sha256").update(secret, "utf8").digest(),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
}

const committing = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const legacy = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
const S = AlgorithmSuiteIdentifier;

async function seal(client, secret, suiteId, { keyName, plaintext, encryptionContext } = {}) {
  const body = plaintext ?? JSON.stringify({ link_token: LINK_TOKEN });
  const { result } = await client.encrypt(keyring(secret, keyName), Buffer.from(body, "utf8"), {
    suiteId,
    encryptionContext: encryptionContext ?? {},
  });
  return result.toString("base64");
}

function tamper(b64) {
  const bytes = Buffer.from(b64, "base64");
  bytes[bytes.length - 120] ^= 0x01; // inside the last frame's ciphertext, before the signature footer
  return bytes.toString("base64");
}

(async () => {
  const signed = await seal(committing, CURRENT, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384);
  const vectors = [
    {
      name: "default committing suite with signature (0x0578)",
      secrets: [CURRENT],
      encrypted_payload: signed,
      expect: { link_token: LINK_TOKEN },
    },
    {
      name: "committing suite without signature (0x0478)",
      secrets: [CURRENT],
      encrypted_payload: await seal(committing, CURRENT, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY),
      expect: { link_token: LINK_TOKEN },
    },
    {
      name: "encryption context is carried, not required",
      secrets: [CURRENT],
      encrypted_payload: await seal(committing, CURRENT, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, {
        encryptionContext: { workspace_id: "ws-1", worker_id: "rt-1" },
      }),
      expect: { link_token: LINK_TOKEN },
    },
    {
      name: "made with the previous secret during a rotation",
      secrets: [CURRENT, PREVIOUS],
      encrypted_payload: await seal(committing, PREVIOUS, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384),
      expect: { link_token: LINK_TOKEN },
    },
    {
      name: "made with the previous secret after the rotation finished",
      secrets: [CURRENT],
      encrypted_payload: await seal(committing, PREVIOUS, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384),
      expect: { error: "undecryptable" },
    },
    {
      name: "wrong secret",
      secrets: [CURRENT, PREVIOUS],
      encrypted_payload: await seal(committing, OTHER, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384),
      expect: { error: "undecryptable" },
    },
    {
      name: "tampered ciphertext",
      secrets: [CURRENT],
      encrypted_payload: tamper(signed),
      expect: { error: "undecryptable" },
    },
    {
      name: "wrong key name",
      secrets: [CURRENT],
      encrypted_payload: await seal(committing, CURRENT, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, {
        keyName: "some-other-key",
      }),
      expect: { error: "undecryptable" },
    },
    {
      name: "non-committing suite with signature (0x0378) must be refused",
      secrets: [CURRENT],
      encrypted_payload: await seal(legacy, CURRENT, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384),
      expect: { error: "undecryptable" },
    },
    {
      name: "non-committing suite without signature (0x0178) must be refused",
      secrets: [CURRENT],
      encrypted_payload: await seal(legacy, CURRENT, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA256),
      expect: { error: "undecryptable" },
    },
    {
      name: "decrypts, but the plaintext has no link_token",
      secrets: [CURRENT],
      encrypted_payload: await seal(committing, CURRENT, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, {
        plaintext: JSON.stringify({ token: LINK_TOKEN }),
      }),
      expect: { error: "invalid_plaintext" },
    },
    {
      name: "decrypts, but the plaintext is not JSON",
      secrets: [CURRENT],
      encrypted_payload: await seal(committing, CURRENT, S.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, {
        plaintext: LINK_TOKEN,
      }),
      expect: { error: "invalid_plaintext" },
    },
  ];
  const out = {
    generator: "provisioner/tests/data/eventbridge/generate.cjs",
    sdk: "@aws-crypto/client-node " + require("@aws-crypto/client-node/package.json").version,
    key_namespace: NAMESPACE,
    key_name: KEY_NAME,
    vectors,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
