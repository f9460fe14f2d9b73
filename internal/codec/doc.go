// Package codec encrypts the payloads Riposte sends through Temporal —
// detections, step parameters, step outputs, memos, failure details — so that
// Temporal's database (SQLite in dev) and anything that reads event histories
// directly only ever sees ciphertext.
//
// # Payload format
//
// [Codec] is a [go.temporal.io/sdk/converter.PayloadCodec]. Encode proto-marshals each whole
// original [go.temporal.io/api/common/v1.Payload] (its metadata, such as "encoding: json/plain",
// is kept and restored by Decode) and seals it with AES-256-GCM:
//
//	metadata: encoding          = "binary/encrypted"
//	          encryption-key-id = <id of the key used>
//	data:     nonce (12 random bytes) || ciphertext || GCM tag (16 bytes)
//
// With [Options].Compress, a marshalled payload of at least 256 bytes that
// DEFLATE ([compress/flate]) makes shorter is sealed as the two bytes
// 0x00 0x01 followed by the raw DEFLATE stream instead. A marshalled
// payload never begins with 0x00 (protobuf has no field number 0), so Decode
// tells the two apart without metadata, and the framing is authenticated
// with the rest. Decode reads both; releases before 2026-12-05 read only
// the uncompressed form, which is why compression is an option, on in
// riposte dev and off in worker and serve until the deployment enables it.
//
// Compressing before encrypting makes a payload's size depend on how much
// its content repeats itself. Someone who reads stored sizes and can also
// place chosen text next to a secret in one payload may learn about that
// secret (the CRIME attack); Riposte's payloads carry detections and step
// results, not credentials, and whoever reads sizes in Temporal's database
// already reads its workflow ids and search attributes in clear text.
//
// The additional authenticated data is the key id (its UTF-8 bytes), so
// moving a ciphertext to another key id fails authentication. Each payload
// gets a fresh random 96-bit nonce ([crypto/cipher.NewGCMWithRandomNonce]); a key
// must not encrypt more than 2^32 payloads, so rotate long before that.
//
// Decode leaves payloads that are not "binary/encrypted" untouched, so
// histories written before encryption was turned on still read. A payload
// encrypted under a key id the [Keyring] does not hold fails with an error
// naming that id (errors.Is(err, [ErrUnknownKey])); a modified ciphertext
// fails with [ErrDecrypt]. Encode leaves payloads that are already
// "binary/encrypted" untouched, so wrapping twice never double-encrypts.
//
// # What is not encrypted
//
// A payload codec sees payloads only. Workflow and activity ids and types,
// task queues, search attributes (they must stay readable for the server to
// index them — never put detection text in them) and, unless the failure
// converter says otherwise, failure messages and stack traces stay in clear
// text. Temporal's default failure converter copies err.Error() into
// Failure.Message, and an error message can easily quote detection text
// ("lookup of host evil.example failed ..."). [NewFailureConverter] returns
// temporal.NewDefaultFailureConverter with EncodeCommonAttributes: true,
// which moves message and stack trace into an encoded (here: encrypted)
// payload and leaves "Encoded failure" as the visible message. Use
// [ConfigureClientOptions] to set both converters on client.Options; workers
// built from that client inherit them.
//
// # Keys, key file and rotation
//
// A [Keyring] holds one active key (used to encrypt) and any number of old
// keys (decrypt only). Its file is JSON:
//
//	{
//	  "active": "k2",
//	  "keys": {
//	    "k1": "<standard base64 (RFC 4648, padded) of 32 random bytes>",
//	    "k2": "..."
//	  }
//	}
//
// An optional "retired": {"k1": "2026-12-06T10:00:00Z"} gives old keys a
// retirement time (RFC 3339): they still decrypt, but the decision seals
// derived from them (internal/signing) made after that time are refused.
// The active key cannot be retired.
//
// Key ids are 1–64 characters from [A-Za-z0-9._-], starting with a letter or
// digit. A key can be made with `openssl rand -base64 32`. Unknown fields are
// rejected so that typos do not go unnoticed. The file should be mode 0600.
//
// Keys come from, in the order a caller usually tries them:
//   - [KeyringFromEnv]: RIPOSTE_CODEC_KEY_FILE (path of such a file) or
//     RIPOSTE_CODEC_KEYS (the same JSON inline); setting both is an error;
//     neither gives an error wrapping [ErrNoKeyring];
//   - [EnsureDevKeyring]: <dataDir>/codec-keys.json, created with a random
//     key "dev-YYYYMMDD-xxxxxxxx" (mode 0600) on first start. Losing this
//     file makes every stored payload unreadable: back it up with the data
//     (riposte dev refuses a data dir whose temporal.db exists without it).
//
// [Keyring.Rotate] adds a new random key, makes it active, keeps every old
// key for decryption and rewrites the file atomically (it re-reads the file
// first and keeps keys found there too, so two rotations never lose a key).
// Other processes holding the keyring in memory keep encrypting with the old
// key and cannot decrypt data written under the new one until restarted, so
// restart all workers and servers after a rotation. Never delete an old key
// while any history (or backup) that may still be read was written with it.
//
// # Codec server for the Web UI
//
// [Handler] serves the codec server protocol the Temporal Web UI and CLI use
// ("remote codec endpoint"): POST {Prefix}/encode and POST {Prefix}/decode
// (also {Prefix}/{namespace}/encode|decode, for the CLI's endpoint
// templating) with a body that is the protobuf JSON form of
// temporal.api.common.v1.Payloads:
//
//	{"payloads": [{"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA==", ...},
//	               "data": "<base64>"}]}
//
// and the same shape in the 200 response. The UI appends
// "?preserveStorageRefs=true" (ignored) and sends Content-Type:
// application/json and X-Namespace. Errors are JSON ({"error": "..."}):
// 400 bad JSON or codec error, 401 unauthorized, 403 preflight from an origin
// that is not allowed, 404 other paths (including the UI's optional
// /download, which the UI reports as "not configured"), 405 other methods,
// 413 body over the limit (default 4 MiB), 415 not JSON.
//
// CORS: only origins listed in [HandlerOptions.AllowedOrigins] get CORS
// headers (Access-Control-Allow-Origin echoing that origin, credentials
// allowed, methods POST, headers Content-Type, Authorization, X-Namespace and
// Authorization-Extras, which the UI adds with OIDC). A preflight from any
// other origin is answered 403 without CORS headers, so the browser blocks
// the request. The UI's origin is whatever host the user typed: list both
// http://127.0.0.1:8233 and http://localhost:8233 ([LoopbackOrigins] does).
//
// # Authorization, and the decision for the dev UI
//
// Every POST must pass [HandlerOptions.Authorize]; a nil Authorize rejects
// everything (fail closed). A codec server is a decryption oracle: whoever
// may call /decode can read every payload, so it needs the same protection
// as the data itself.
//
// Production: use [BearerToken] (for the CLI: `temporal ... --codec-endpoint
// URL --codec-auth "Bearer <token>"`) or an Authorize func that validates the
// UI's OIDC access token (riposte serve authenticates the caller as its API
// does: shared or personal token, or OIDC bearer, with the read scope). The UI forwards the signed-in user's token
// (Authorization: Bearer, when the UI's codec.passAccessToken is set) only to
// an https:// endpoint.
//
// Dev: the embedded UI has no login and is plain http on loopback, and the
// UI never sends a token to an http:// codec endpoint — so requiring a token
// would leave the dev UI unable to decode anything. [DevAuthorizer] therefore
// accepts either (a) a correct "Authorization: Bearer <API token>" (CLI,
// scripts), or (b) when no Authorization header is presented, a request from
// a loopback address whose path carries the per-start session secret:
// riposte dev draws 32 random bytes at each start and gives the UI the codec
// endpoint {api}/codec/{secret}, so the UI calls {api}/codec/{secret}/decode.
// A wrong token is always rejected, never downgraded to the secret rule. An
// Origin header is not evidence of anything (any local process can send
// one), so it only decides CORS answers. Trade-off: the secret reaches the
// browser through the UI's own /api/v1/settings, so a local process that can
// reach the UI port can read it, as it can read histories through the
// unauthenticated dev frontend; no web page can (the dev UI and codec answer
// only Host headers naming a loopback address, which stops DNS rebinding),
// and the secret changes at every start.
// Do not use DevAuthorizer on a listener reachable from other hosts, and do
// not use it in production.
package codec
