// Package cli is the command line of leasesrv: serve and check-config.
// cmd/leasesrv only hands it argv and stdio.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/urfave/cli/v2"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/leasesrv"
	"github.com/virtcloud/virtcloud/leasesrv/audit"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// Main runs leasesrv and returns its exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	app := &cli.App{
		Name:      "leasesrv",
		Usage:     "VirtCloud lease server: one VLAN per virtual cluster, free at every site it spans",
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: []*cli.Command{
			{
				Name:  "serve",
				Usage: "run the HTTP API, the reaper and the reconciler",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: config.DefaultPath, EnvVars: []string{"VIRTCLOUD_CONFIG"}, Usage: "configuration `FILE`"},
					&cli.StringFlag{Name: "listen", Usage: "listen on `ADDR` instead of [server] listen"},
					&cli.StringFlag{Name: "redis", EnvVars: []string{"VIRTCLOUD_REDIS"}, Usage: "Redis `URL`, replacing [redis] of the file"},
				},
				Action: serve,
			},
			{
				Name:      "check-config",
				Usage:     "validate a configuration file and report every problem with file:line and key",
				ArgsUsage: "FILE",
				Action:    checkConfig,
			},
		},
		ExitErrHandler: func(c *cli.Context, err error) {},
	}
	if err := app.Run(args); err != nil {
		fmt.Fprintf(stderr, "leasesrv: %v\n", err)
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		return 1
	}
	return 0
}

func checkConfig(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("check-config needs exactly one FILE", 2)
	}
	cfg, err := config.Load(c.Args().First())
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			fmt.Fprintln(c.App.ErrWriter, ps.Error())
			return cli.Exit(fmt.Sprintf("%d problem(s) in %s", len(ps), c.Args().First()), 1)
		}
		return cli.Exit(err.Error(), 1)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "%s: ok\n", cfg.Path)
	for _, site := range slices.Sorted(maps.Keys(cfg.Sites)) {
		fmt.Fprintf(w, "site %s: %d VLANs in the pool\n", site, len(cfg.SitePool(site)))
	}
	// Each switch as its driver understood it (never a secret's value).
	for _, name := range slices.Sorted(maps.Keys(cfg.Switches)) {
		sw := cfg.Switches[name]
		fmt.Fprintf(w, "switch %s at site %s: %s driver, %s, %s\n", name, sw.Site, sw.Driver, sw.Address, sw.Settings)
	}
	for _, line := range cfg.Understood() {
		fmt.Fprintln(w, line)
	}
	cores := cfg.Cores()
	for _, core := range slices.Sorted(maps.Keys(cores)) {
		fmt.Fprintf(w, "L2 domain of core %s: sites %s (a lease over two of them, or over two switches, takes its VLAN on the uplinks and so on the whole core)\n",
			core, strings.Join(cores[core], ", "))
	}
	fmt.Fprintf(w, "%d hosts, %d switches, %d tokens\n", len(cfg.Hosts), len(cfg.Switches), len(cfg.Tokens))
	if pre := cfg.PreProvisioned(); len(pre) > 0 {
		fmt.Fprintf(w, "pre-provisioned hosts (no switch; nothing is configured for them): %s\n", strings.Join(pre, ", "))
	}
	return nil
}

func serve(c *cli.Context) error {
	if err := config.CheckPrivate(c.String("config")); err != nil {
		return cli.Exit(err.Error(), 2)
	}
	cfg, err := config.Load(c.String("config"))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if l := c.String("listen"); l != "" {
		cfg.Server.Listen = l
	}
	if u := c.String("redis"); u != "" {
		if _, err := redis.ParseURL(u); err != nil {
			// The parser's own message quotes the URL, password and all.
			return cli.Exit(fmt.Sprintf("--redis (or VIRTCLOUD_REDIS) %s: not a redis://, rediss:// or unix:// URL", config.RedactURL(u)), 2)
		}
		cfg.Redis = config.Redis{URL: u, WaitReplicas: cfg.Redis.WaitReplicas, WaitTimeout: cfg.Redis.WaitTimeout, Timeout: cfg.Redis.Timeout}
	}
	log := newLogger(c.App.ErrWriter, cfg.Server.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	rdb, err := store.Open(cfg.Redis)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	defer func() { _ = rdb.Close() }() // at exit; the server has stopped using it
	if err := waitRedis(ctx, rdb.Ping, log); err != nil {
		return cli.Exit(fmt.Sprintf("redis: %v", err), 1)
	}
	for _, w := range store.Warnings(ctx, rdb) {
		log.Warn(w)
	}
	st := store.New(rdb, store.PolicyOf(cfg))
	fleet := switchdrv.NewFleet(cfg, log)
	defer fleet.Close()
	svc := leasesrv.NewService(ctx, cfg, st, leasesrv.NewNetwork(cfg, st, fleet, log), log)
	rec := audit.New(cfg, st, fleet, log)
	svc.SetSwitchReader(rec.Tables) // before SyncPools, which asks the switches about an empty store
	if err := svc.SyncPools(ctx); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	go svc.RunReaper(ctx, cfg.Server.ReapInterval.Duration)
	for _, c := range rec.Collectors() {
		svc.Register(c)
	}
	go rec.RunEvery(ctx, cfg.Server.AuditInterval.Duration, true)
	srv := leasesrv.NewHTTPServer(cfg, svc.Handler(rec.Endpoints()...))
	log.Info("listening", "addr", cfg.Server.Listen, "tls", cfg.Server.TLSCert != "")
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if err := svc.Serve(ctx, srv, ln, log); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return cli.Exit(err.Error(), 1)
	}
	return nil
}

// waitRedis retries the first contact for a few seconds, so a server started
// beside its Redis does not die of the race.
func waitRedis[T interface{ Err() error }](ctx context.Context, ping func(context.Context) T, log *slog.Logger) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ping(ctx).Err()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		log.Warn("redis not reachable yet", "err", err)
		time.Sleep(500 * time.Millisecond)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
