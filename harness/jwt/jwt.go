// Package jwt mints the per-run key material and tokens for the suite's JWT
// specs: a RequestAuthentication bound to a waypoint with targetRefs whose
// jwtRules[].jwks is the inline JSON Web Key Set of an [Issuer], and an
// AuthorizationPolicy requiring requestPrincipals "<issuer>/<subject>".
//
// Nothing here talks to an external identity provider: NewIssuer generates an
// RSA-2048 key (RS256, the algorithm Istio's own JWT tests use) with a random
// key ID, and the tokens are signed with go-jose. The helpers cover the cases
// of the suite's facts (§4.5), as Istio's waypoint answers them:
//
//   - Valid: a token the waypoint accepts (200 when the subject is allowed);
//   - no token at all: 403 from the AuthorizationPolicy (no helper needed);
//   - WrongIssuer: signed by another key for another issuer, which no
//     jwtRule names: 401;
//   - Expired: our issuer and key, expired well beyond Envoy's 60 s clock
//     skew: 401;
//   - OtherSubject: a valid token whose subject the policy does not allow: 403.
//
// Verify parses and checks a token against a JWKS; the unit tests use it to
// prove that each token is what it claims to be.
package jwt

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// Algorithm is the JWS algorithm of every token and key this package makes.
const Algorithm = jose.RS256

// rsaBits is the size of the generated RSA keys.
const rsaBits = 2048

// ValidFor is how long a Valid (or OtherSubject) token stays valid. It is
// long enough for a whole suite run.
const ValidFor = 2 * time.Hour

// ClockSkew is how far before "now" the nbf of a fresh token is set, so that
// a node whose clock lags the harness' a little still accepts it.
const ClockSkew = 5 * time.Minute

// ExpiredAgo is how long before "now" an Expired token expired: far beyond
// Envoy's default 60 s clock skew allowance.
const ExpiredAgo = time.Hour

// Errors that Verify may wrap, re-exported from go-jose so that callers need
// not import it.
var (
	// ErrExpired means the token's exp is in the past.
	ErrExpired = josejwt.ErrExpired
	// ErrNotValidYet means the token's nbf is in the future.
	ErrNotValidYet = josejwt.ErrNotValidYet
	// ErrInvalidIssuer means the token's iss is not the expected issuer.
	ErrInvalidIssuer = josejwt.ErrInvalidIssuer
	// ErrKeyNotFound means the JWKS holds no key with the token's kid (a
	// token signed by somebody else's key).
	ErrKeyNotFound = jose.ErrJWKSKidNotFound
)

// Claims are the registered JWT claims the suite's tokens carry. Zero times
// and empty strings are left out of the token.
type Claims struct {
	// Issuer ("iss"). In Token it overrides the Issuer's own name when
	// non-empty; Verify fills it from the token.
	Issuer string
	// Subject ("sub"): the second half of the request principal
	// "<iss>/<sub>" that an AuthorizationPolicy matches.
	Subject string
	// Audience ("aud").
	Audience []string
	// Expiry ("exp"), IssuedAt ("iat") and NotBefore ("nbf"), to the second.
	Expiry, IssuedAt, NotBefore time.Time
}

// Issuer is one issuer's signing key: it mints tokens and publishes the
// matching public JWKS. It also holds a second, unrelated key and issuer
// name for WrongIssuer tokens. An Issuer is safe for concurrent use.
type Issuer struct {
	name   string
	kid    string
	key    *rsa.PrivateKey
	signer jose.Signer
	// stranger signs WrongIssuer tokens: another key, kid and name.
	stranger *Issuer
	// now is the clock of the helpers (tests may replace it).
	now func() time.Time
}

// NewIssuer generates a fresh RSA-2048 key with a random kid for the issuer
// name (the jwtRules[].issuer of the RequestAuthentication, e.g.
// "ambient-e2e@<run-id>"), plus an unrelated key for WrongIssuer tokens.
func NewIssuer(issuer string) (*Issuer, error) {
	if issuer == "" {
		return nil, errors.New("jwt: empty issuer")
	}
	is, err := newKey(issuer)
	if err != nil {
		return nil, err
	}
	is.stranger, err = newKey(UnknownIssuerOf(issuer))
	if err != nil {
		return nil, err
	}
	return is, nil
}

// UnknownIssuerOf is the issuer name of the WrongIssuer tokens of an Issuer
// named issuer: "unknown." + issuer.
func UnknownIssuerOf(issuer string) string { return "unknown." + issuer }

func newKey(name string) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("jwt: generating RSA key: %w", err)
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("jwt: generating kid: %w", err)
	}
	kid := hex.EncodeToString(b[:])
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: Algorithm, Key: jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(Algorithm)}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("jwt: creating signer: %w", err)
	}
	return &Issuer{name: name, kid: kid, key: key, signer: signer, now: time.Now}, nil
}

// Name returns the issuer name: the value of jwtRules[].issuer and of every
// token's iss (except WrongIssuer's).
func (is *Issuer) Name() string { return is.name }

// KeyID returns the kid of the signing key, present in the JWKS and in the
// header of every token this Issuer signs.
func (is *Issuer) KeyID() string { return is.kid }

// RequestPrincipal returns the principal Istio derives from one of this
// Issuer's tokens with the subject sub, "<iss>/<sub>", as written in an
// AuthorizationPolicy's source.requestPrincipals.
func (is *Issuer) RequestPrincipal(sub string) string { return is.name + "/" + sub }

// JWKS returns the JSON Web Key Set holding the public key only, as the
// string RequestAuthentication's jwtRules[].jwks takes inline:
// {"keys":[{"use":"sig","kty":"RSA","kid":...,"alg":"RS256","n":...,"e":"AQAB"}]}.
func (is *Issuer) JWKS() (string, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &is.key.PublicKey,
		KeyID:     is.kid,
		Algorithm: string(Algorithm),
		Use:       "sig",
	}}}
	b, err := json.Marshal(set)
	if err != nil {
		return "", fmt.Errorf("jwt: encoding JWKS: %w", err)
	}
	return string(b), nil
}

// Token signs c with this Issuer's key. The iss claim is c.Issuer when set
// (to mint a token that claims another issuer but carries our signature),
// otherwise Name().
func (is *Issuer) Token(c Claims) (string, error) {
	if c.Issuer == "" {
		c.Issuer = is.name
	}
	tok, err := josejwt.Signed(is.signer).Claims(toJose(c)).Serialize()
	if err != nil {
		return "", fmt.Errorf("jwt: signing token: %w", err)
	}
	return tok, nil
}

// fresh returns the claims of a currently valid token for sub.
func (is *Issuer) fresh(sub string) Claims {
	now := is.now().Truncate(time.Second)
	return Claims{Subject: sub, IssuedAt: now, NotBefore: now.Add(-ClockSkew), Expiry: now.Add(ValidFor)}
}

// Valid returns a token for subject sub that a RequestAuthentication with
// this Issuer's name and JWKS accepts: iat now, nbf ClockSkew ago, exp in
// ValidFor.
func (is *Issuer) Valid(sub string) (string, error) {
	return is.Token(is.fresh(sub))
}

// Expired returns a token for sub signed by this Issuer's key that expired
// ExpiredAgo ago (issued ValidFor before that).
func (is *Issuer) Expired(sub string) (string, error) {
	now := is.now().Truncate(time.Second)
	exp := now.Add(-ExpiredAgo)
	return is.Token(Claims{Subject: sub, IssuedAt: exp.Add(-ValidFor), NotBefore: exp.Add(-ValidFor), Expiry: exp})
}

// WrongIssuer returns an otherwise valid token for sub from a different
// issuer, UnknownIssuerOf(Name()), signed by a different key with a
// different kid. Neither the issuer nor the key is in JWKS().
func (is *Issuer) WrongIssuer(sub string) (string, error) {
	return is.stranger.Token(is.fresh(sub))
}

// UnknownIssuer returns the issuer name of WrongIssuer tokens.
func (is *Issuer) UnknownIssuer() string { return is.stranger.name }

// UnknownJWKS returns the public JWKS of the WrongIssuer key (which a
// correctly configured RequestAuthentication must NOT contain).
func (is *Issuer) UnknownJWKS() (string, error) { return is.stranger.JWKS() }

// OtherSubjectOf is the subject of OtherSubject(allowed) tokens:
// "not-" + allowed, never equal to allowed.
func OtherSubjectOf(allowed string) string { return "not-" + allowed }

// OtherSubject returns a valid token of this Issuer whose subject is
// OtherSubjectOf(allowed): authenticated, but not the principal an
// AuthorizationPolicy allowing only RequestPrincipal(allowed) admits.
func (is *Issuer) OtherSubject(allowed string) (string, error) {
	return is.Valid(OtherSubjectOf(allowed))
}

// Verify parses token, checks its signature against the JSON Web Key Set
// jwks (the key is chosen by the token's kid), then checks that iss equals
// issuer and that the token is within its nbf/exp window now, with no leeway.
// Once the signature holds, the claims are returned even when the claims
// check fails, so that a test can look at them. Errors wrap
// ErrKeyNotFound, ErrInvalidIssuer, ErrExpired or ErrNotValidYet where they
// apply. A JWKS holding private key material is refused.
func Verify(token, jwks, issuer string) (Claims, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(jwks), &set); err != nil {
		return Claims{}, fmt.Errorf("jwt: parsing JWKS: %w", err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return Claims{}, fmt.Errorf("jwt: JWKS key %q holds private key material", k.KeyID)
		}
	}
	tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.PS256})
	if err != nil {
		return Claims{}, fmt.Errorf("jwt: parsing token: %w", err)
	}
	var jc josejwt.Claims
	if err := tok.Claims(&set, &jc); err != nil {
		return Claims{}, fmt.Errorf("jwt: verifying token signature: %w", err)
	}
	c := fromJose(jc)
	if err := jc.ValidateWithLeeway(josejwt.Expected{Issuer: issuer}, 0); err != nil {
		return c, fmt.Errorf("jwt: token claims (iss %q, sub %q): %w", c.Issuer, c.Subject, err)
	}
	return c, nil
}

// toJose converts c to go-jose's claims, leaving zero values out.
func toJose(c Claims) josejwt.Claims {
	jc := josejwt.Claims{Issuer: c.Issuer, Subject: c.Subject}
	if len(c.Audience) > 0 {
		jc.Audience = josejwt.Audience(c.Audience)
	}
	jc.Expiry = numericDate(c.Expiry)
	jc.IssuedAt = numericDate(c.IssuedAt)
	jc.NotBefore = numericDate(c.NotBefore)
	return jc
}

func numericDate(t time.Time) *josejwt.NumericDate {
	if t.IsZero() {
		return nil
	}
	return josejwt.NewNumericDate(t)
}

func fromJose(jc josejwt.Claims) Claims {
	c := Claims{Issuer: jc.Issuer, Subject: jc.Subject}
	if len(jc.Audience) > 0 {
		c.Audience = []string(jc.Audience)
	}
	if jc.Expiry != nil {
		c.Expiry = jc.Expiry.Time()
	}
	if jc.IssuedAt != nil {
		c.IssuedAt = jc.IssuedAt.Time()
	}
	if jc.NotBefore != nil {
		c.NotBefore = jc.NotBefore.Time()
	}
	return c
}

// String describes the issuer by name and kid. It also keeps fmt's %v of an
// *Issuer from printing the private key into a log.
func (is *Issuer) String() string {
	return fmt.Sprintf("jwt issuer %q (kid %s)", is.name, is.kid)
}
