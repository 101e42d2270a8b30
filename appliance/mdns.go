package appliance

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/mdns"
)

// hostLabel is the name the box announces on the shop's network:
// joren-<device>, in the letters a host name may have.
func hostLabel(device string) string {
	name := strings.ToLower("joren-" + device)
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, name)
}

// localIPs are the box's addresses the page can be reached at: every
// address of an interface that is up, but loopback and link-local ones,
// unless only loopback is left (a test, a box without a network yet).
func localIPs() ([]net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var ips, loop []net.IP
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		switch ip := n.IP; {
		case ip.IsLoopback():
			loop = append(loop, ip)
		case ip.IsLinkLocalUnicast():
		default:
			ips = append(ips, ip)
		}
	}
	if len(ips) == 0 {
		ips = loop
	}
	return ips, nil
}

// announce answers mDNS queries for the box's page while ctx runs: the host
// joren-<device>.local and the HTTP service of the page (_http._tcp), so
// that the installer opens http://joren-door-1.local:8080/ instead of
// looking for the box's address in the router. A network without
// multicast is logged, not fatal: the page still answers on its address.
func (a *Appliance) announce(ctx context.Context, port int) error {
	host := hostLabel(a.device)
	ips, err := localIPs()
	if err != nil || len(ips) == 0 {
		a.log.Warn("not announcing the box's page on the network (mDNS): no address", "error", err)
		return nil
	}
	svc, err := mdns.NewMDNSService(host, "_http._tcp", "local.", host+".local.", port, ips,
		[]string{"path=/", "device=" + a.device, "site=" + a.cfg.Device.Site})
	if err != nil {
		return fmt.Errorf("announcing the box's page (mDNS): %w", err)
	}
	srv, err := mdns.NewServer(&mdns.Config{Zone: svc, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		a.log.Warn("not announcing the box's page on the network (mDNS)", "error", err)
		return nil
	}
	a.log.Info("the box's page is announced on the network", "url", "http://"+host+".local:"+strconv.Itoa(port)+"/")
	<-ctx.Done()
	return srv.Shutdown()
}
