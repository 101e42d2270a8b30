package appliance

import (
	"context"
	"io"
	"joren/internal/testenv"
	"log"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/mdns"
)

func TestHostLabel(t *testing.T) {
	for in, want := range map[string]string{"door-1": "joren-door-1", "Door_2": "joren-door-2", "店": "joren--"} {
		if got := hostLabel(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// A real mDNS query on this machine's multicast finds the box's page:
// its host joren-<device>.local, its port, its addresses.
func TestAnnounce(t *testing.T) {
	testenv.Native(t, "qemu-user does not emulate the multicast socket options an mDNS query sets")
	a := &Appliance{log: slog.New(slog.DiscardHandler), device: "door-7"}
	a.cfg.Device.Site = "shibuya-1"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.announce(ctx, 8080) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	entries := make(chan *mdns.ServiceEntry, 16)
	var found *mdns.ServiceEntry
	for try := 0; try < 5 && found == nil; try++ {
		q := mdns.DefaultParams("_http._tcp")
		q.Entries, q.Timeout, q.DisableIPv6 = entries, time.Second, true
		q.Logger = log.New(io.Discard, "", 0)
		if err := mdns.Query(q); err != nil {
			t.Fatalf("mDNS query: %v", err)
		}
	drain:
		for {
			select {
			case e := <-entries:
				if strings.HasPrefix(e.Name, "joren-door-7.") {
					found = e
				}
			default:
				break drain
			}
		}
	}
	if found == nil {
		t.Fatal("no mDNS answer for the box's page")
	}
	ips, _ := localIPs()
	if found.Host != "joren-door-7.local." || found.Port != 8080 || !containsIP(ips, found.AddrV4) || !strings.Contains(found.Info, "site=shibuya-1") {
		t.Errorf("found %+v (addresses %v)", found, ips)
	}
}

func containsIP(ips []net.IP, ip net.IP) bool {
	for _, i := range ips {
		if i.Equal(ip) {
			return true
		}
	}
	return false
}
