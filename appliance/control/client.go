package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"syscall"
	"time"

	"joren/cluster/identity"
)

// ErrNoService says nothing answers on the control socket: the service is
// not running (or died and left its socket). The caller then opens the
// store itself.
var ErrNoService = errors.New("no service on the control socket")

// Client sends operations to a running service over its control socket.
// It has the methods of Ops, with the same answers and refusals.
type Client struct {
	path string
	hc   *http.Client
	info Info
}

// Dial connects to the service on the control socket at path and asks it
// what it serves. ErrNoService (wrapped) if nothing listens there; a clear
// error if this user may not use it.
func Dial(ctx context.Context, path string) (*Client, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "unix", path)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return nil, fmt.Errorf("%w (%s)", ErrNoService, path)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("control socket %s: permission denied: only root and the service's user may use the running service (run the command with sudo)", path)
	case err != nil:
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	c.Close()
	cl := &Client{path: path, hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns: 1,
	}}}
	if err := cl.call(ctx, "GET", routeInfo, nil, &cl.info); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			return nil, fmt.Errorf("control socket %s: the service refused this user: only root and the service's user may use it", path)
		}
		return nil, err
	}
	return cl, nil
}

// Info is what the service said it serves when Dial connected.
func (c *Client) Info(context.Context) (Info, error) { return c.info, nil }

// Close releases the client's connection.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// call sends one request (body nil for GET) and decodes the answer into
// out, or the refusal into an *Error.
func (c *Client) call(ctx context.Context, method, route string, body, out any) error {
	resp, err := c.do(ctx, method, route, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("control socket %s: reading the answer to %s: %w", c.path, route, err)
	}
	return nil
}

// do sends one request and returns a successful response.
func (c *Client) do(ctx context.Context, method, route string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	// The host is a placeholder: the transport dials the socket.
	req, err := http.NewRequestWithContext(ctx, method, "http://joren"+route, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", c.path, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var f failure
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&f); err != nil || f.Error == "" {
		return nil, fmt.Errorf("control socket %s: %s answered %s", c.path, route, resp.Status)
	}
	if f.Kind == "" {
		f.Kind = Failed
	}
	return nil, &Error{Kind: f.Kind, Msg: f.Error}
}

// Stats summarise the store as of now.
func (c *Client) Stats(ctx context.Context) (s identity.Stats, err error) {
	return s, c.call(ctx, "GET", routeStats, nil, &s)
}

// Export writes every visitor, customer and staff member to w. The
// running service refuses an export with descriptors.
func (c *Client) Export(ctx context.Context, w io.Writer, withDescriptors bool) error {
	resp, err := c.do(ctx, "POST", routeExport, export{WithDescriptors: withDescriptors})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// Check checks the store's integrity.
func (c *Client) Check(ctx context.Context) error {
	return c.call(ctx, "POST", routeCheck, struct{}{}, &struct{}{})
}

// Maintain runs a maintenance pass now.
func (c *Client) Maintain(ctx context.Context, trustClock bool) (m Maintenance, err error) {
	return m, c.call(ctx, "POST", routeMaintain, maintain{TrustClock: trustClock}, &m)
}

// Staff lists the staff members.
func (c *Client) Staff(ctx context.Context) (s []Staff, err error) {
	return s, c.call(ctx, "GET", routeStaff, nil, &s)
}

// AddStaff enrols a staff member's faces.
func (c *Client) AddStaff(ctx context.Context, e Enrolment) (a StaffAdded, err error) {
	return a, c.call(ctx, "POST", routeStaffAdd, e, &a)
}

// RemoveStaff forgets a staff member.
func (c *Client) RemoveStaff(ctx context.Context, n string) error {
	return c.call(ctx, "POST", routeStaffRemove, name{n}, &struct{}{})
}

// Customers lists the enrolled customers.
func (c *Client) Customers(ctx context.Context) (cs []Customer, err error) {
	return cs, c.call(ctx, "GET", routeCustomers, nil, &cs)
}

// AddCustomer enrols a customer who consented.
func (c *Client) AddCustomer(ctx context.Context, e Enrolment) (a CustomerAdded, err error) {
	return a, c.call(ctx, "POST", routeCustomerAdd, e, &a)
}

// RemoveCustomer deletes everything about a customer.
func (c *Client) RemoveCustomer(ctx context.Context, n string) (r CustomerRemoved, err error) {
	return r, c.call(ctx, "POST", routeCustomerRemove, name{n}, &r)
}

// Mode is the store's mode.
func (c *Client) Mode(ctx context.Context) (m ModeState, err error) {
	return m, c.call(ctx, "GET", routeMode, nil, &m)
}

// SetMode switches the store's mode.
func (c *Client) SetMode(ctx context.Context, r ModeRequest) (ch ModeChange, err error) {
	return ch, c.call(ctx, "POST", routeSetMode, r, &ch)
}

// Match tells whom faces match.
func (c *Client) Match(ctx context.Context, f Faces) (m Match, err error) {
	return m, c.call(ctx, "POST", routeMatch, f, &m)
}

// Forget deletes a visitor with everything kept about them.
func (c *Client) Forget(ctx context.Context, id string) (f Forgotten, err error) {
	return f, c.call(ctx, "POST", routeForget, visitor{id}, &f)
}

// ForgetFace forgets the visitor the faces match.
func (c *Client) ForgetFace(ctx context.Context, fs Faces) (f Forgotten, err error) {
	return f, c.call(ctx, "POST", routeForgetFace, fs, &f)
}
