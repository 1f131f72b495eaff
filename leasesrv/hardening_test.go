package leasesrv_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/leasesrv"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	vcctl "github.com/virtcloud/virtcloud/vcctl/cli"
)

// serveReal runs the service behind the same http.Server as leasesrv serve.
func serveReal(t *testing.T, cfgText string) (addr string, cfg *config.Config) {
	t.Helper()
	cfg, err := config.Parse("t.toml", []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	rs := redistest.Start(t)
	rdb, _ := store.Open(config.Redis{URL: rs.URL})
	t.Cleanup(func() { rdb.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	svc := leasesrv.NewService(ctx, cfg, store.New(rdb, store.PolicyOf(cfg)), nil, log)
	if err := svc.SyncPools(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { svc.Serve(ctx, leasesrv.NewHTTPServer(cfg, svc.Handler()), ln, log); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String(), cfg
}

func TestSlowClientsAreCutOff(t *testing.T) {
	addr, _ := serveReal(t, strings.Replace(leasetest.Config, `listen = "127.0.0.1:0"`,
		"listen = \"127.0.0.1:0\"\nread_header_timeout = \"300ms\"\nread_timeout = \"600ms\"", 1))
	for _, slow := range []string{"POST /v1/leases HTTP/1.1\r\nHost: x\r\n", // headers never end
		"POST /v1/leases HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"} { // body never ends
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, slow)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		io.ReadAll(c) // returns when the server closes the connection
		if time.Since(start) > 4*time.Second {
			t.Fatalf("a slow client held its connection for %s", time.Since(start))
		}
		c.Close()
	}
}

func TestTLSMode(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600)
	addr, _ := serveReal(t, strings.Replace(leasetest.Config, `listen = "127.0.0.1:0"`,
		fmt.Sprintf("listen = \"127.0.0.1:0\"\ntls_cert = %q\ntls_key = %q", filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")), 1))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	c := client.New("https://"+addr, leasetest.AdminToken).WithHTTPClient(&http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}})
	if _, err := c.Pools(context.Background()); err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	// Plain HTTP to a TLS server gets nowhere.
	if _, err := client.New("http://"+addr, leasetest.AdminToken).Pools(context.Background()); err == nil {
		t.Fatal("plain HTTP answered by the TLS server")
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "leasesrv"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// TestSecretsNeverShow: tokens, SNMP communities and SSH passwords appear in
// no log line, error answer or vcctl output, also when things fail.
func TestSecretsNeverShow(t *testing.T) {
	f, cfgText := audittest.Peers(t)
	var logs bytes.Buffer
	srv := leasetest.Start(t, leasetest.Options{Config: cfgText, Log: &logs})
	f.Srv = srv
	secrets := []string{leasetest.AdminToken, leasetest.SchedulerToken, leasetest.NodeToken, leasetest.ViewerToken,
		f.SNMP.Community, f.Praha.Password(), f.Plzen.Password()}
	var outputs bytes.Buffer
	run := func(token string, args ...string) {
		var out, errOut bytes.Buffer
		vcctl.Main(append([]string{"vcctl", "--server", srv.URL, "--token", token}, args...), &out, &errOut)
		outputs.Write(out.Bytes())
		outputs.Write(errOut.Bytes())
	}
	run(leasetest.AdminToken, "lease", "create", "--job", "s1", "--host", "skirit82-1", "--host", "skurut9-1")
	run(leasetest.AdminToken, "lease", "commit", "s1")
	run("not-a-valid-token-000", "lease", "ls")
	run(leasetest.ViewerToken, "lease", "release", "--force", "s1")
	// The switch now refuses the configured password (a new login is needed).
	f.Praha.RefuseAuth(true)
	f.Praha.Stop()
	if err := f.Praha.Restart(); err != nil {
		t.Fatal(err)
	}
	run(leasetest.AdminToken, "lease", "create", "--job", "s2", "--host", "skurut9-1")
	run(leasetest.AdminToken, "lease", "commit", "s2")
	run(leasetest.AdminToken, "--output", "json", "lease", "show", "s2", "--history")
	run(leasetest.AdminToken, "lease", "release", "s1")
	srv.Svc.Wait()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(logs.String(), s) {
			t.Errorf("secret %q in the server's log", s)
		}
		if strings.Contains(outputs.String(), s) {
			t.Errorf("secret %q in vcctl output", s)
		}
	}
	if !strings.Contains(outputs.String(), "credentials refused") {
		t.Fatalf("the refused login was not reported:\n%s", outputs.String())
	}
}
