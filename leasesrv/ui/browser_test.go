//go:build browser

package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// TestStatusPageInChromium drives Debian's chromium against a real leasesrv
// process, a real redis-server and the fabric's switches (snmpsimd, emulated
// IOS and Junos): sign-in with a viewer token, the map, the leases and the
// switches, each following a create, a commit, a release and a switch going
// away without the page being reloaded. It saves the screenshots README shows.
func TestStatusPageInChromium(t *testing.T) {
	browser := findChromium(t)
	f, cfgText := audittest.Peers(t)
	addr := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
	cfgText = strings.Replace(cfgText, `listen = "127.0.0.1:0"`, fmt.Sprintf("listen = %q\naudit_interval = \"1s\"", addr), 1)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "virtcloud.toml")
	if err := os.WriteFile(cfg, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "leasesrv")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/virtcloud/virtcloud/cmd/leasesrv").CombinedOutput(); err != nil {
		t.Fatalf("build leasesrv: %v\n%s", err, out)
	}
	rs := redistest.Start(t)
	srv := exec.Command(bin, "serve", "--config", cfg, "--redis", rs.URL)
	logf, _ := os.Create(filepath.Join(dir, "leasesrv.log"))
	srv.Stderr = logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("leasesrv log:\n%s", b)
		}
	})
	base := "http://" + addr
	waitUp(t, base)
	sched := client.New(base, leasetest.SchedulerToken)

	// The flags that work in a container as root, and a fresh profile.
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browser), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true))
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	if err := chromedp.Do(ctx); err != nil { // starts the browser for the tab's whole life
		t.Fatalf("start %s: %v", browser, err)
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(actx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	js := func(expr string) string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return out
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	// waitFor polls a JavaScript condition: the page changes on its own.
	waitFor := func(what, cond string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("wait for %s (%s): %v", what, cond, err)
		}
	}

	// / leads to the sign-in form; a wrong token is refused on the page.
	do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#login")))
	if loc := location(); loc != base+"/ui/" {
		t.Fatalf("/ ended at %s, want %s/ui/", loc, base)
	}
	do("wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "not-a-token"), chromedp.Submit(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#error")))
	if got := js(`document.getElementById("error").textContent`); !strings.Contains(got, "unknown token") {
		t.Fatalf("error shown for a wrong token: %q", got)
	}
	shot(t, ctx, "ui-login.png")

	do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), leasetest.ViewerToken), chromedp.Submit(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#status")))
	if loc := location(); loc != base+"/ui/" || strings.Contains(loc, "secret") {
		t.Fatalf("signed in at %s: the token must not show in the URL", loc)
	}
	if got := js(`document.getElementById("user").textContent`); got != "signed in as viewer" {
		t.Fatalf("user line %q", got)
	}
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	cookies := res.Cookies
	if len(cookies) != 1 || !cookies[0].HTTPOnly || cookies[0].SameSite != network.CookieSameSiteStrict || strings.Contains(cookies[0].Value, "secret") {
		t.Fatalf("cookies %+v: want one HttpOnly SameSite=Strict session id", cookies)
	}
	if got := js(`document.cookie`); got != "" {
		t.Fatalf("script can read cookies %q", got)
	}

	// The map: every pool VLAN a cell, all free.
	for site, n := range map[string]int{"brno": 100, "praha": 101, "plzen": 81} {
		got := js(fmt.Sprintf(`String(document.querySelectorAll('section[data-site=%q] .vlan').length) + "/" +
			String(document.querySelectorAll('section[data-site=%q] .vlan[data-state=free]').length)`, site, site))
		if want := fmt.Sprintf("%d/%d", n, n); got != want {
			t.Errorf("site %s: cells/free %s, want %s", site, got, want)
		}
	}
	// Switches as the background audit found them: reachable and clean.
	waitFor("the first audit pass", `[...document.querySelectorAll("table.switches td.finding")].every(td => td.textContent === "clean") &&
		document.querySelectorAll("table.switches td.reachable[data-reachable=yes]").length === 3`)

	// A marker that a reload would wipe: everything below arrives by polling.
	js(`window.vcNoReload = "yes"`)
	cell := func(site string, vid int) string {
		return fmt.Sprintf(`document.querySelector('section[data-site=%q] .vlan[data-vid="%d"]')`, site, vid)
	}
	row := func(site, job string) string {
		return fmt.Sprintf(`document.querySelector('section[data-site=%q] table.leases tr[data-job=%q]')`, site, job)
	}
	bg := context.Background()
	l, _, err := sched.Create(bg, client.CreateRequest{Job: "4711.pbs", Owner: "alice", Hosts: []string{"skirit82-1", "skurut9-1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, site := range []string{"brno", "praha"} {
		waitFor("held at "+site, cell(site, l.VLAN)+`.dataset.state === "held" && `+row(site, "4711.pbs")+`?.querySelector(".badge").textContent === "held"`)
	}
	if got := js(cell("brno", l.VLAN) + `.title`); got != fmt.Sprintf("VLAN %d: held, job 4711.pbs (alice)", l.VLAN) {
		t.Errorf("cell title %q", got)
	}
	if got := js(row("plzen", "4711.pbs") + ` === null ? "none" : "row"`); got != "none" {
		t.Errorf("a lease over brno and praha is listed at plzen")
	}

	if _, err := sched.WaitActive(bg, "4711.pbs", l.Token); err != nil {
		t.Fatal(err)
	}
	waitFor("active", cell("praha", l.VLAN)+`.dataset.state === "active" && `+row("brno", "4711.pbs")+`.querySelector(".badge").textContent === "active"`)
	// A click on the cell names the lease and marks its row; its history opens.
	do("click the cell", chromedp.Click(chromedp.CSS(fmt.Sprintf(`section[data-site="brno"] .vlan[data-vid="%d"]`, l.VLAN))))
	if got := js(`document.querySelector('section[data-site="brno"] .detail').textContent`); !strings.Contains(got, "active, job 4711.pbs (alice)") {
		t.Errorf("detail after a click: %q", got)
	}
	if got := js(row("brno", "4711.pbs") + `.className`); got != "selected" {
		t.Errorf("the lease's row is not marked: class %q", got)
	}
	do("open the history", chromedp.Click(chromedp.CSS(`section[data-site="brno"] tr[data-job="4711.pbs"] summary`)))
	waitFor("the history", row("brno", "4711.pbs")+`.querySelector(".history").textContent.includes("commit")`)
	shot(t, ctx, "ui-status.png")

	// A switch that goes away shows as unreachable after the next pass.
	f.Plzen.Close()
	waitFor("plzen-sw1 unreachable", `document.querySelector('tr[data-switch="plzen-sw1"] td.reachable').textContent === "no"`)

	if _, err := sched.Release(bg, "4711.pbs", l.Token); err != nil {
		t.Fatal(err)
	}
	waitFor("released", cell("brno", l.VLAN)+`.dataset.state === "quarantined" && `+cell("praha", l.VLAN)+`.dataset.state === "quarantined" && `+
		row("brno", "4711.pbs")+`.querySelector(".badge").textContent === "released"`)
	if got := js(`document.querySelector('section[data-site="brno"] .detail').textContent`); got != fmt.Sprintf("VLAN %d: quarantined", l.VLAN) {
		t.Errorf("detail of the selected cell after the release: %q", got)
	}
	if got := js(`document.querySelector('section[data-site="plzen"] table.leases tbody').textContent.trim()`); got != "no lease at this site" {
		t.Errorf("plzen's leases: %q", got)
	}
	waitFor("the open history follows", row("brno", "4711.pbs")+`.querySelector(".history").textContent.includes("release")`)
	if got := js(`String(window.vcNoReload)`); got != "yes" {
		t.Fatalf("the page was reloaded (marker %q): updates must arrive without a reload", got)
	}
	shot(t, ctx, "ui-released.png")

	// Sign-out ends the session on the server.
	do("sign out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login")))
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/ui/status.json").then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusUnauthorized {
		t.Fatalf("status.json after sign-out: %d, want 401", status)
	}
}

// findChromium is Debian's chromium; without it the test cannot run, which
// under CI is a failure.
func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (scripts/deps.sh chromium=chromium)")
	}
	t.Skip("chromium is not installed (scripts/deps.sh chromium=chromium)")
	return ""
}

func waitUp(t *testing.T, base string) {
	t.Helper()
	for range 200 {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("leasesrv did not come up")
}

// shot saves the whole page into docs/ of the repository, for README.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
