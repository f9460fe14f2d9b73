// Package security is Riposte's security test suite (issue 12): it starts
// riposte dev and replays each attack on the human gate — forged users,
// another person's token, missing scopes, revoked tokens, self-approval with
// look-alike ids, decisions sent straight to Temporal (unsigned, forged
// seal, unencrypted), CSRF-style text/plain posts — and checks that each is
// refused with nothing changed (the gate still pending, the lab host not
// contained) and that the refusal is audited.
package security
