package jwt

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const testIssuer = "ambient-e2e@test-run"

// RSA key generation is the expensive part: share one Issuer (two keys).
var shared = sync.OnceValues(func() (*Issuer, error) { return NewIssuer(testIssuer) })

func issuer(t *testing.T) (*Issuer, string) {
	t.Helper()
	is, err := shared()
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := is.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	return is, jwks
}

// header decodes the JOSE header of a compact token.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestValidTokenVerifies(t *testing.T) {
	is, jwks := issuer(t)
	tok, err := is.Valid("alice")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(tok, jwks, testIssuer)
	if err != nil {
		t.Fatalf("Verify(valid): %v", err)
	}
	if c.Issuer != testIssuer || c.Subject != "alice" {
		t.Errorf("claims iss=%q sub=%q", c.Issuer, c.Subject)
	}
	now := time.Now()
	if !c.Expiry.After(now.Add(ValidFor-time.Minute)) || c.NotBefore.After(now) || c.IssuedAt.After(now) {
		t.Errorf("times: iat %v nbf %v exp %v (now %v)", c.IssuedAt, c.NotBefore, c.Expiry, now)
	}
	if got := is.RequestPrincipal("alice"); got != testIssuer+"/alice" {
		t.Errorf("RequestPrincipal = %q", got)
	}
	h := header(t, tok)
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] != is.KeyID() {
		t.Errorf("header %v, want alg RS256, typ JWT, kid %s", h, is.KeyID())
	}
}

func TestExpiredTokenFails(t *testing.T) {
	is, jwks := issuer(t)
	tok, err := is.Expired("alice")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(tok, jwks, testIssuer)
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("Verify(expired) = %v, want ErrExpired", err)
	}
	// Signed by our key, for our issuer: only the time is wrong, and by more
	// than Envoy's 60 s clock skew.
	if c.Issuer != testIssuer || c.Subject != "alice" {
		t.Errorf("claims iss=%q sub=%q", c.Issuer, c.Subject)
	}
	if age := time.Since(c.Expiry); age < ExpiredAgo-time.Minute {
		t.Errorf("expired only %v ago", age)
	}
	if h := header(t, tok); h["kid"] != is.KeyID() {
		t.Errorf("kid %v, want ours %s", h["kid"], is.KeyID())
	}
}

func TestWrongIssuerToken(t *testing.T) {
	is, jwks := issuer(t)
	tok, err := is.WrongIssuer("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(tok, jwks, testIssuer); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Verify(wrong issuer, our JWKS) = %v, want ErrKeyNotFound", err)
	}
	h := header(t, tok)
	if h["kid"] == is.KeyID() || h["kid"] == "" {
		t.Errorf("wrong-issuer kid %v equals ours or is empty", h["kid"])
	}
	// It is a proper token of the other issuer and key...
	other, err := is.UnknownJWKS()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(tok, other, is.UnknownIssuer())
	if err != nil {
		t.Fatalf("Verify(wrong issuer, its own JWKS): %v", err)
	}
	if c.Issuer == testIssuer || c.Issuer != UnknownIssuerOf(testIssuer) || c.Subject != "alice" {
		t.Errorf("claims iss=%q sub=%q, want iss %q", c.Issuer, c.Subject, UnknownIssuerOf(testIssuer))
	}
	// ...and even if its header named our kid, our key would not verify it.
	forged, err := is.stranger.forgeKid(is.KeyID(), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(forged, jwks, ""); err == nil {
		t.Error("token signed by the other key verified against our JWKS")
	}
	if other == jwks {
		t.Error("both JWKS are the same")
	}
}

// forgeKid signs c with is's key but puts kid in the header.
func (is *Issuer) forgeKid(kid string, c Claims) (string, error) {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: Algorithm, Key: jose.JSONWebKey{Key: is.key, KeyID: kid}}, nil)
	if err != nil {
		return "", err
	}
	o := *is
	o.signer = s
	return o.Token(c)
}

func TestOtherSubject(t *testing.T) {
	is, jwks := issuer(t)
	tok, err := is.OtherSubject("alice")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(tok, jwks, testIssuer)
	if err != nil {
		t.Fatalf("Verify(other subject): %v", err)
	}
	if c.Subject == "alice" || c.Subject != OtherSubjectOf("alice") {
		t.Errorf("sub %q", c.Subject)
	}
	if is.RequestPrincipal(c.Subject) == is.RequestPrincipal("alice") {
		t.Error("other subject maps to the allowed principal")
	}
}

func TestVerifyChecksIssuerAndTimes(t *testing.T) {
	is, jwks := issuer(t)
	tok, err := is.Valid("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(tok, jwks, "someone-else"); !errors.Is(err, ErrInvalidIssuer) {
		t.Errorf("Verify(expected other issuer) = %v, want ErrInvalidIssuer", err)
	}
	// A token that claims another issuer but carries our signature.
	claimed, err := is.Token(Claims{Issuer: "impostor", Subject: "alice", Audience: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(claimed, jwks, testIssuer)
	if !errors.Is(err, ErrInvalidIssuer) || c.Issuer != "impostor" || !slices.Equal(c.Audience, []string{"a", "b"}) {
		t.Errorf("Verify(iss override) = %+v, %v", c, err)
	}
	future, err := is.Token(Claims{Subject: "alice", NotBefore: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(future, jwks, testIssuer); !errors.Is(err, ErrNotValidYet) {
		t.Errorf("Verify(nbf in an hour) = %v, want ErrNotValidYet", err)
	}
	// Tampering with the payload breaks the signature.
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"alice"`, `"admin"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	if _, err := Verify(strings.Join(parts, "."), jwks, testIssuer); err == nil {
		t.Error("tampered token verified")
	}
	if _, err := Verify(tok, "not json", testIssuer); err == nil {
		t.Error("Verify accepted a malformed JWKS")
	}
}

func TestJWKSIsPublicOnly(t *testing.T) {
	is, jwks := issuer(t)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(jwks), &set); err != nil {
		t.Fatalf("JWKS is not a JSON Web Key Set: %v\n%s", err, jwks)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if !k.IsPublic() || !k.Valid() {
		t.Errorf("JWKS key: public=%v valid=%v", k.IsPublic(), k.Valid())
	}
	if k.KeyID == "" || k.KeyID != is.KeyID() || len(k.KeyID) < 16 {
		t.Errorf("kid %q, issuer kid %q", k.KeyID, is.KeyID())
	}
	if k.Algorithm != "RS256" || k.Use != "sig" {
		t.Errorf("alg %q use %q", k.Algorithm, k.Use)
	}
	// No private RSA member at all in the raw JSON.
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(jwks), &raw); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := raw.Keys[0][m]; ok {
			t.Errorf("JWKS key has private member %q", m)
		}
	}
	if raw.Keys[0]["kty"] != "RSA" || raw.Keys[0]["n"] == nil || raw.Keys[0]["e"] != "AQAB" {
		t.Errorf("JWKS key %v", raw.Keys[0])
	}
	// A JWKS carrying a private key is refused by Verify.
	priv, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: is.key, KeyID: is.KeyID()}}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := is.Valid("alice")
	if _, err := Verify(tok, string(priv), testIssuer); err == nil || !strings.Contains(err.Error(), "private") {
		t.Errorf("Verify with a private JWKS = %v", err)
	}
}

func TestIssuerBasics(t *testing.T) {
	is, _ := issuer(t)
	if is.Name() != testIssuer || is.UnknownIssuer() == testIssuer {
		t.Errorf("Name %q UnknownIssuer %q", is.Name(), is.UnknownIssuer())
	}
	if s := fmt.Sprintf("%v", is); strings.Contains(s, "PrivateKey") || !strings.Contains(s, is.KeyID()) {
		t.Errorf("%%v of an Issuer = %q", s)
	}
	if _, err := NewIssuer(""); err == nil {
		t.Error("NewIssuer(\"\") succeeded")
	}
	// Kids are random per key.
	if is.KeyID() == is.stranger.KeyID() {
		t.Error("both keys share a kid")
	}
}
