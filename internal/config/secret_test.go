package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestSecretNeverShowsItsValue: every way a value reaches a log, an error
// or an encoded file shows Redacted; only Reveal gives the value.
func TestSecretNeverShowsItsValue(t *testing.T) {
	const value = "s3cret-community"
	type table struct {
		Community Secret `toml:"community" json:"community"`
		User      string `toml:"user" json:"user"`
	}
	var tbl table
	if _, err := toml.Decode("community = \""+value+"\"\nuser = \"vc\"\n", &tbl); err != nil {
		t.Fatal(err)
	}
	s := tbl.Community
	if s.Reveal() != value || s.IsZero() || !NewSecret("").IsZero() {
		t.Fatalf("Reveal = %q, IsZero = %v", s.Reveal(), s.IsZero())
	}
	shown := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%+v": fmt.Sprintf("%+v", s),
		"%#v": fmt.Sprintf("%#v", s), "%q": fmt.Sprintf("%q", s), "%x": fmt.Sprintf("%x", s),
		"%d": fmt.Sprintf("%d", s), "String": s.String(),
		"struct %v": fmt.Sprintf("%v", tbl), "struct %+v": fmt.Sprintf("%+v", tbl), "struct %#v": fmt.Sprintf("%#v", tbl),
		"pointer %+v": fmt.Sprintf("%+v", &tbl), "error": fmt.Errorf("bad %v", s).Error(),
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("open", "community", s, "table", tbl)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("open", "community", s)
	shown["slog text"], shown["slog json"] = text.String(), js.String()
	b, err := json.Marshal(tbl)
	if err != nil {
		t.Fatal(err)
	}
	shown["json"] = string(b)
	var enc bytes.Buffer
	if err := toml.NewEncoder(&enc).Encode(tbl); err != nil {
		t.Fatal(err)
	}
	shown["toml"] = enc.String()
	for form, out := range shown {
		if strings.Contains(out, value) || !strings.Contains(out, Redacted) {
			t.Errorf("%s shows %q, want %s and never the value", form, out, Redacted)
		}
	}
	if want := `{"community":"[redacted]","user":"vc"}`; shown["json"] != want {
		t.Errorf("json = %s, want %s", shown["json"], want)
	}
}

// TestConfigSecretsAreSecrets: the Redis passwords, the tokens' secrets and
// the hooks' and vc-dom0's tokens of a loaded file print as Redacted too.
func TestConfigSecretsAreSecrets(t *testing.T) {
	text := strings.Replace(minimal, "[redis]\n", "[redis]\npassword = \"redis-s3cret\"\n", 1) +
		"[hooks]\ntoken = \"hooks-s3cret\"\n[dom0]\ntoken = \"dom0-s3cret\"\n"
	c, err := Parse("f.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Password.Reveal() != "redis-s3cret" || c.Tokens[0].Secret.Reveal() != "0123456789abcdef0123" {
		t.Fatalf("values: %q %q", c.Redis.Password.Reveal(), c.Tokens[0].Secret.Reveal())
	}
	if c.Hooks.Token.Reveal() != "hooks-s3cret" || c.Dom0.Token.Reveal() != "dom0-s3cret" {
		t.Fatalf("tokens: %q %q", c.Hooks.Token.Reveal(), c.Dom0.Token.Reveal())
	}
	if out := fmt.Sprintf("%+v %+v %+v %+v", c.Redis, c.Tokens, *c.Hooks, *c.Dom0); strings.Contains(out, "s3cret") || strings.Contains(out, "0123456789abcdef0123") {
		t.Fatalf("a secret shows: %s", out)
	}
}
