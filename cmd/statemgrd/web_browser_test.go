package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

// browserConfig gives the daemon an operator, a viewer and service.demo's
// own user (the test answers for the service's self-state), and the
// smallest max payload, so that the page reads its status in pages.
const browserConfig = `
nats {
  max_payload = 4096
  user "otto" {
    password = "operator-pw"
    role     = "operator"
  }
  user "vera" {
    password = "viewer-pw"
    role     = "viewer"
  }
  user "demo" {
    password = "service-pw"
    role     = "service"
    service  = "demo"
  }
}
`

// chromium returns Debian's chromium, or skips the test.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no chromium on PATH: the browser tests need Debian's chromium (apt-get install -y chromium; .ci/browser does it)")
	return ""
}

// artifactDir is where screenshots go: $STATEMGR_ARTIFACTS, else the
// test's temp dir.
func artifactDir(t *testing.T) string {
	if dir := os.Getenv("STATEMGR_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// answerForDemo plays service.demo's part of the self-state protocol: it
// reports ENABLED, and answers enable and disable by doing them and
// reporting the new state, as a service implementing self-state does.
func answerForDemo(t *testing.T, natsAddr string) {
	nc, err := nats.Connect("nats://"+natsAddr, client.UserInfo("demo", "service-pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	report := func(state string) {
		body, _ := json.Marshal(server.SelfStateRequest{State: state, Status: "demo is " + strings.ToLower(state)})
		if msg, err := nc.Request("statemgr.service.demo.selfstate", body, 5*time.Second); err != nil || client.DecodeError(msg) != nil {
			t.Errorf("self-state %s: %v %v", state, err, msg)
		}
	}
	if _, err := nc.Subscribe(server.ServiceControlSubject("demo"), func(m *nats.Msg) {
		var req struct{ Action string }
		_ = json.Unmarshal(m.Data, &req)
		_ = m.Respond([]byte(`{}`))
		go report(map[string]string{"enable": "ENABLED", "disable": "DISABLED"}[req.Action])
	}); err != nil {
		t.Fatal(err)
	}
	report("ENABLED")
}

func TestBrowserServiceManagerAndPowerPanel(t *testing.T) {
	bin := chromium(t)
	dir, addr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	cfgFile := filepath.Join(dir, "statemgrd.hcl")
	// Ten more hosts: with them the status is several pages under the
	// 4 KiB max payload.
	plat := platform.DefaultSource()
	for n := 2; n < 12; n++ {
		plat = fmt.Appendf(plat, `
host "%d" {
  chassis = "0"
  gpio "power_out" {
    line     = "POWER_OUT_%[1]d"
    polarity = "active-low"
  }
  gpio "reset_out" {
    line     = "RESET_OUT_%[1]d"
    polarity = "active-low"
  }
  gpio "power_good" {
    line     = "PS_PWROK_%[1]d"
    polarity = "active-high"
  }
}
`, n)
	}
	platFile := filepath.Join(dir, "platform.hcl")
	if err := os.WriteFile(platFile, plat, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf("platform_file = %q\n%s", platFile, browserConfig)), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	code := make(chan int, 1)
	running := false
	startDaemon := func() {
		running = true
		go func() {
			code <- run([]string{"-config", cfgFile, "-data-dir", filepath.Join(dir, "data"), "-http-listen", addr, "-nats-listen", natsAddr}, &bytes.Buffer{}, &stderr)
		}()
	}
	stopDaemon := func() {
		running = false
		stopWithSIGTERM(t, code, &stderr)
	}
	startDaemon()
	t.Cleanup(func() {
		if running {
			stopDaemon()
		}
	})
	base := "http://" + addr
	waitReady(t, base+"/readyz")
	waitMetric(t, base+"/metrics", `statemgr_component_state{component="service.demo",state="Running"} 1`)
	answerForDemo(t, natsAddr)
	api, err := nats.Connect("nats://"+natsAddr, client.UserInfo("vera", "viewer-pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	var first server.SystemStatus
	if err := client.New(api).Request(context.Background(), server.SubjectSystemStatus, server.StatusRequest{}, &first); err != nil || !first.More {
		t.Fatalf("system.status under a 4 KiB max payload: more=%t, %v; the page would not cross a page boundary", first.More, err)
	}
	get := func(id string) server.Component {
		comp, err := client.New(api).Get(context.Background(), id)
		if err != nil {
			t.Fatalf("%s get: %v", id, err)
		}
		return comp
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(1200, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()
	failed := func(what string, err error) {
		t.Helper()
		if shot, serr := chromedp.Run(ctx, chromedp.FullScreenshot(90)); serr == nil {
			_ = os.WriteFile(filepath.Join(artifactDir(t), "failure.jpg"), shot, 0o644)
		}
		// What the page told its user (a refusal, an error) often says why.
		shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`$("alert-text").textContent + " | operations: " + $("operations").textContent`))
		t.Fatalf("%s: %v\npage: %s\n%s", what, err, shown, stderr.String())
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			failed(what, err)
		}
	}
	// click clicks in the page's own script: the page re-renders on every
	// event, so a node found by the DevTools protocol may be gone before
	// its click lands.
	click := func(sel string) chromedp.Action[chromedp.Void] {
		quoted, _ := json.Marshal(sel)
		return chromedp.Evaluate[chromedp.Void](`(() => { const n = document.querySelector(` + string(quoted) + `); if (!n || n.disabled) throw new Error("no enabled " + ` + string(quoted) + `); n.click(); return {}; })()`)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			failed("read "+sel, err)
		}
		return v
	}
	demo := `tr[id="s-service.demo"]`
	// Log in with the keyboard alone.
	run("log in as the operator",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#login-user`),
		chromedp.SendKeys(`#login-user`, "otto"),
		chromedp.SendKeys(`#login-password`, "operator-pw\r"),
		chromedp.WaitVisible(demo+`[data-code="ENABLED"]`),
		chromedp.WaitVisible(`#conn[data-state="live"]`),
	)
	// The status came in pages: the page shows every component of all.
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('article[id^="c-host."]').length`)); err != nil || n != 12 {
		failed("host cards from a paged status", fmt.Errorf("%d cards, want 12 (%v)", n, err))
	}
	run("disable service.demo with its toggle",
		click(demo+` .toggle`),
		chromedp.WaitVisible(demo+`[data-code="DISABLED"]`),
	)
	if comp := get("service.demo"); comp.Code != "DISABLED" {
		t.Fatalf("service.demo after the toggle: %+v, want code DISABLED", comp)
	}
	before := get("service.demo").Transitions
	run("open service.demo's menu and ask for Restart",
		click(demo+` summary`),
		click(demo+` button[data-request="Restart"]`),
		chromedp.WaitVisible(`#confirm`))
	confirmText := text(`#confirm-text`)
	run("confirm the restart", click(`#confirm-ok`))
	if !strings.Contains(confirmText, "interrupted") {
		t.Fatalf("restart confirmation %q does not say the work will be interrupted", confirmText)
	}
	for i := 0; ; i++ {
		comp := get("service.demo")
		if comp.State == "Running" && comp.Transitions >= before+2 {
			break
		}
		if i > 200 {
			t.Fatalf("service.demo never restarted: %+v", comp)
		}
		time.Sleep(50 * time.Millisecond)
	}

	host := `article[id="c-host.0"]`
	// With the chassis off, host.0 offers no power on: buttons are for
	// exactly the requests allowed now.
	run("host.0 offers no On while the chassis is off",
		chromedp.WaitVisible(host))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('article[id="c-host.0"] button[data-request="On"]').length`)); err != nil || n != 0 {
		failed("host.0's buttons with the chassis off", fmt.Errorf("%d On buttons, %v", n, err))
	}
	// What blocks its power on, and what clears it, is a line of its card
	// (statemgr.interlocks.list, paged under the 4 KiB max payload).
	dependency := host + ` .blocker[data-check="power_dependency"]`
	run("host.0 shows its power_dependency line while the chassis is off", chromedp.WaitVisible(dependency))
	// Read in one evaluation, polled: the card is redrawn whenever the
	// blockers are re-read, so a node found by one call may be gone by the
	// next.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		line, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('`+dependency+`') || {}).textContent || ""`))
		if err == nil && strings.Contains(line, "On") && strings.Contains(line, "chassis.0 is Off") && strings.Contains(line, "Clears when chassis.0 is powered on") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host.0's power_dependency line %q (%v): want the requests it blocks, chassis.0 Off and what clears it", line, err)
		}
	}
	run("power the chassis, then the host, watching its states",
		click(`article[id="c-chassis.0"] button[data-request="On"]`),
		chromedp.WaitVisible(`article[id="c-chassis.0"] [data-state="On"]`),
		// The chassis is On before its operation ends (the saga still
		// checks the last PSU); until then a host power-on is refused
		// busy, truthfully, so wait for the page to show it finished.
		chromedp.WaitVisible(`#operations li[data-target="chassis.0"][data-outcome="succeeded"]`),
		chromedp.Evaluate[chromedp.Void](`window.seen = []; new MutationObserver(() => {
			const s = document.querySelector('article[id="c-host.0"] [data-state]');
			if (s && window.seen[window.seen.length-1] !== s.dataset.state) window.seen.push(s.dataset.state);
		}).observe(document.getElementById("power"), {subtree: true, childList: true, attributes: true}); ({})`),
		chromedp.WaitVisible(host+` button[data-request="On"]`),
		click(host+` button[data-request="On"]`),
		chromedp.WaitVisible(host+` [data-state="Running"]`))
	seen, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.seen`))
	if err != nil {
		failed("read the states seen", err)
	}
	if !slices.Contains(seen, "TransitioningToRunning") || seen[len(seen)-1] != "Running" {
		t.Fatalf("host.0 states shown: %v, want TransitioningToRunning then Running", seen)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		failed("screenshot", err)
	}
	if err := os.WriteFile(filepath.Join(artifactDir(t), "service-manager.jpg"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	// A daemon restart: the page says it is reconnecting, then (its
	// session ended with the daemon) asks for a login and is live again.
	stopDaemon()
	run("the page says it is reconnecting", chromedp.WaitVisible(`#conn[data-state="reconnecting"]`))
	startDaemon()
	waitReady(t, base+"/readyz")
	run("after the restart, log in again and be live",
		chromedp.WaitVisible(`#login-user`),
		chromedp.SendKeys(`#login-user`, "otto"),
		chromedp.SendKeys(`#login-password`, "operator-pw\r"),
		chromedp.WaitVisible(`#conn[data-state="live"]`),
		chromedp.WaitVisible(demo))

	// A viewer at 320 CSS px, the width of a 1280 px window at 400 % zoom
	// (WCAG 1.4.10 reflow): every control is disabled, and nothing needs
	// scrolling sideways.
	vctx, vcancel := chromedp.NewContext(allocCtx)
	defer vcancel()
	vctx, vcancelTimeout := context.WithTimeout(vctx, 60*time.Second)
	defer vcancelTimeout()
	if err := chromedp.Do(vctx,
		chromedp.EmulateViewport(320, 800),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#login-user`),
		chromedp.SendKeys(`#login-user`, "vera"),
		chromedp.SendKeys(`#login-password`, "viewer-pw\r"),
		chromedp.WaitVisible(demo),
		chromedp.WaitVisible(`article[id="c-chassis.0"] button[data-request]`),
	); err != nil {
		t.Fatalf("viewer: %v", err)
	}
	enabled, err := chromedp.Run(vctx, chromedp.Evaluate[int](`[...document.querySelectorAll('#app button[data-request], #app .toggle')].filter(b => !b.disabled).length`))
	if err != nil {
		t.Fatalf("viewer's controls: %v", err)
	}
	if shot, err = chromedp.Run(vctx, chromedp.FullScreenshot(90)); err != nil {
		t.Fatalf("viewer's screenshot: %v", err)
	}
	_ = os.WriteFile(filepath.Join(artifactDir(t), "viewer-320px.jpg"), shot, 0o644)
	if enabled != 0 {
		t.Fatalf("the viewer sees %d enabled controls, want none", enabled)
	}
	if wide, err := chromedp.Run(vctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`)); err != nil || wide > 0 {
		t.Fatalf("at 320 px the page is %d px wider than the window (%v): it must reflow, not scroll sideways", wide, err)
	}
}
