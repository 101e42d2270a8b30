package mosquittotest

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

var pahoNewClient = paho.NewClient

func newPahoClient(t *testing.T, o *paho.ClientOptions) paho.Client {
	t.Helper()
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}
